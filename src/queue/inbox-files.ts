import type Database from 'better-sqlite3';
import type { InboxRow } from './row';
import { prepared } from './statements';

// The files of a message on their way to its run: which files (an album's parts gathered into its
// first item), where each was saved, what a voice note said. Each step is written as it is done,
// so a kill repeats no download that was saved and no transcription that was paid for.

/** One file of a message and how far it got. */
export interface MessageFileRow {
  readonly inboxId: number;
  readonly seq: number;
  /** The item that carried it (the message itself, or another part of its album). */
  readonly fromInboxId: number;
  /** `MessageMedia` as JSON. */
  readonly media: string;
  readonly caption: string | null;
  readonly project: string | null;
  /** Its project path once reserved (`uploads/...`). */
  readonly path: string | null;
  readonly bytes: number | null;
  readonly sha256: string | null;
  /** Whether its bytes are written at `path`. */
  readonly saved: boolean;
  readonly transcript: string | null;
}

const COLUMNS = `inbox_id AS inboxId, seq, from_inbox_id AS fromInboxId, media, caption, project, path, bytes,
  sha256, saved, transcript`;

type Raw = Omit<MessageFileRow, 'saved'> & { saved: number };
const toRow = (raw: Raw): MessageFileRow => ({ ...raw, saved: raw.saved === 1 });

/** The files of item `inboxId`, in order; empty before `gatherFiles`. */
export function messageFiles(sqlite: Database.Database, inboxId: number): MessageFileRow[] {
  return (
    prepared(sqlite, `SELECT ${COLUMNS} FROM inbox_files WHERE inbox_id = ? ORDER BY seq`).all(
      inboxId,
    ) as Raw[]
  ).map(toRow);
}

/** What an album's part is marked with once its file went into the first part's run. */
export function albumPartNote(leadId: number): string {
  return `part of an album: answered with item ${leadId}`;
}

/**
 * Takes the files of a message: its own, and those of the parts of its album that wait behind it
 * (same chat and `media_group_id`, queued, never begun), in one transaction. The parts end `done`,
 * answered by this item's run, so they are never answered twice and, after a kill, never lost:
 * their files are this item's from then on. Returns the item's files; a second call returns what
 * the first took.
 */
export function gatherFiles(sqlite: Database.Database, item: InboxRow, now: number): MessageFileRow[] {
  return sqlite
    .transaction((): MessageFileRow[] => {
      const taken = messageFiles(sqlite, item.id);
      if (taken.length > 0 || item.media === null) return taken;
      const insert = prepared(
        sqlite,
        `INSERT INTO inbox_files (inbox_id, seq, from_inbox_id, media, caption, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
      );
      insert.run(item.id, 0, item.id, item.media, item.text, now);
      if (item.mediaGroupId !== null && item.chatId !== null) {
        const parts = prepared(
          sqlite,
          `SELECT id, media, text FROM inbox
           WHERE chat_id = ? AND media_group_id = ? AND lane = 'answer' AND id != ? AND media IS NOT NULL
             AND status IN ('queued', 'failed') AND reply IS NULL
             AND NOT EXISTS (SELECT 1 FROM agent_runs r WHERE r.inbox_id = inbox.id)
           ORDER BY update_id`,
        ).all(item.chatId, item.mediaGroupId, item.id) as {
          id: number;
          media: string;
          text: string | null;
        }[];
        const close = prepared(
          sqlite,
          `UPDATE inbox SET status = 'done', started_at = coalesce(started_at, ?), finished_at = ?, reply = ?,
             error = NULL, error_class = NULL, error_code = NULL WHERE id = ?`,
        );
        parts.forEach((part, i) => {
          insert.run(item.id, i + 1, part.id, part.media, part.text, now);
          close.run(now, now, albumPartNote(item.id), part.id);
        });
      }
      return messageFiles(sqlite, item.id);
    })
    .immediate();
}

/** The newest time a part of album `groupId` of a chat arrived (ms), for waiting until it is whole. */
export function albumLastArrival(sqlite: Database.Database, chatId: number, groupId: string): number {
  return (
    (prepared(sqlite, 'SELECT max(received_at) FROM inbox WHERE chat_id = ? AND media_group_id = ?')
      .pluck()
      .get(chatId, groupId) as number | null) ?? 0
  );
}

/** Reserves the project path a file is saved at, with the hash of its bytes, before writing it. */
export function reserveFilePath(
  sqlite: Database.Database,
  file: Pick<MessageFileRow, 'inboxId' | 'seq'>,
  place: { readonly project: string; readonly path: string; readonly bytes: number; readonly sha256: string },
): void {
  prepared(
    sqlite,
    `UPDATE inbox_files SET project = @project, path = @path, bytes = @bytes, sha256 = @sha256, saved = 0
     WHERE inbox_id = @inboxId AND seq = @seq`,
  ).run({ ...place, inboxId: file.inboxId, seq: file.seq });
}

/** Marks a file's bytes written at its reserved path. */
export function markFileSaved(
  sqlite: Database.Database,
  file: Pick<MessageFileRow, 'inboxId' | 'seq'>,
): void {
  prepared(sqlite, 'UPDATE inbox_files SET saved = 1 WHERE inbox_id = ? AND seq = ?').run(
    file.inboxId,
    file.seq,
  );
}

/** Stores what a voice or video note said, before the run uses it. */
export function storeTranscript(
  sqlite: Database.Database,
  file: Pick<MessageFileRow, 'inboxId' | 'seq'>,
  transcript: string,
): void {
  prepared(sqlite, 'UPDATE inbox_files SET transcript = ? WHERE inbox_id = ? AND seq = ?').run(
    transcript,
    file.inboxId,
    file.seq,
  );
}

/** The files of messages as the worker's file step uses them (see the functions above). */
export interface FilesStore {
  gather(item: InboxRow, now: number): MessageFileRow[];
  files(inboxId: number): MessageFileRow[];
  albumLastArrival(chatId: number, groupId: string): number;
  reservePath(
    file: MessageFileRow,
    place: {
      readonly project: string;
      readonly path: string;
      readonly bytes: number;
      readonly sha256: string;
    },
  ): void;
  markSaved(file: MessageFileRow): void;
  storeTranscript(file: MessageFileRow, transcript: string): void;
}

/** The files store over the database. */
export function sqliteFilesStore(sqlite: Database.Database): FilesStore {
  return {
    gather: (item, now) => gatherFiles(sqlite, item, now),
    files: (inboxId) => messageFiles(sqlite, inboxId),
    albumLastArrival: (chatId, groupId) => albumLastArrival(sqlite, chatId, groupId),
    reservePath: (file, place) => reserveFilePath(sqlite, file, place),
    markSaved: (file) => markFileSaved(sqlite, file),
    storeTranscript: (file, transcript) => storeTranscript(sqlite, file, transcript),
  };
}
