import type Database from 'better-sqlite3';
import { KV, setKv } from './kv';
import type { Lane } from './row';
import { prepared } from './statements';

/** An update as ingress stores it. */
export interface NewInboxItem {
  readonly updateId: number;
  readonly chatId: number | null;
  readonly messageId: number | null;
  readonly kind: string;
  readonly text: string | null;
  /** `control` for commands and button presses; `answer` when not given. */
  readonly lane?: Lane;
  readonly fromId?: number | null;
  readonly callbackId?: string | null;
  /** The message's own time (Telegram `date`), ms. */
  readonly sentAt: number | null;
  /** The message's file as JSON (`MessageMedia`), when it carries one the agent takes. */
  readonly media?: string | null;
  /** An album's `media_group_id`. */
  readonly mediaGroupId?: string | null;
  /** The forum topic it was sent in. */
  readonly threadId?: number | null;
  /** `skipped` items carry the reason in `error`. */
  readonly status: 'queued' | 'skipped';
  readonly error?: string;
}

/**
 * Stores a batch of updates and advances `telegram_offset` past them in one transaction, so the
 * offset Telegram is told next never runs ahead of what is on disk. Updates already
 * stored are ignored (unique `update_id`). Returns how many rows were new.
 */
export function storeBatch(
  sqlite: Database.Database,
  items: readonly NewInboxItem[],
  nextOffset: number,
  now: number,
): number {
  const insert = prepared(
    sqlite,
    `INSERT INTO inbox (update_id, chat_id, message_id, kind, text, lane, from_id, callback_id, sent_at, media, media_group_id,
       thread_id, status, available_at, error, error_class, received_at, finished_at)
     VALUES (@updateId, @chatId, @messageId, @kind, @text, @lane, @fromId, @callbackId, @sentAt, @media, @mediaGroupId,
       @threadId, @status, @now, @error, @errorClass, @now, @finishedAt)
     ON CONFLICT(update_id) DO NOTHING`,
  );
  const tx = sqlite.transaction(() => {
    let added = 0;
    for (const item of items) {
      const skipped = item.status === 'skipped';
      added += insert.run({
        updateId: item.updateId,
        chatId: item.chatId,
        messageId: item.messageId,
        kind: item.kind,
        text: item.text,
        lane: item.lane ?? 'answer',
        fromId: item.fromId ?? null,
        callbackId: item.callbackId ?? null,
        sentAt: item.sentAt,
        media: item.media ?? null,
        mediaGroupId: item.mediaGroupId ?? null,
        threadId: item.threadId ?? null,
        status: item.status,
        now,
        error: item.error ?? null,
        errorClass: skipped ? 'skipped' : null,
        finishedAt: skipped ? now : null,
      }).changes;
    }
    setKv(sqlite, KV.telegramOffset, String(nextOffset), now);
    return added;
  });
  return tx.immediate();
}
