// A message's files made ready for its run: each downloaded from Telegram and saved into the
// project at `uploads/` (a photo also given to the model as an image), or, for a voice or video
// note, transcribed. Every step is stored as it is done (src/queue/inbox-files.ts), so a kill
// repeats no saved download and no paid transcription, and the run's message is the same text each
// time it is made. A file that cannot be taken (too big, voice off, no project) is a refusal the
// person is told; a failure on the way is the item's failed attempt, retried by the queue.

import crypto from 'node:crypto';
import type { ImageRef } from '../agent/ports';
import type { FilesStore, MessageFileRow } from '../queue/inbox-files';
import type { InboxRow } from '../queue/row';
import type { Logger } from '../shared/log';
import {
  reserveUploadPath,
  uploadBaseName,
  uploadsBytes,
  UploadsRefusedError,
  writeUpload,
  UPLOADS_DIR,
} from '../workspace/uploads';
import { sleep } from './ingress';
import { isSpoken, parseMedia, type FileVariant, type MessageMedia } from './media';
import { audioFilename, type Transcriber } from './openai/transcribe';
import type { TelegramClient } from './telegram/client';
import { isTelegramFailure } from './telegram/failures';

/** What the file step needs. */
export interface MessageFilesDeps {
  readonly files: FilesStore;
  readonly telegram: Pick<TelegramClient, 'getFile' | 'downloadFile'>;
  /** Transcribes voice and video notes; null when voice is off (OPENAI_TRANSCRIBE_MODEL=off). */
  readonly transcribe: Transcriber | null;
  /** TG_FILE_MAX_MB in bytes. */
  readonly fileMaxBytes: number;
  /** AGENT_UPLOADS_MAX_MB in bytes. */
  readonly uploadsMaxBytes: number;
  /** How long an album waits for its next part after the last one arrived (ms). */
  readonly albumWaitMs: number;
  readonly now: () => number;
  readonly log: Logger;
}

/** The project a message's files are saved in. */
export interface FilesProject {
  readonly name: string;
  readonly root: string;
}

/** The message a run gets for an item with files, or why its files cannot be taken. */
export type PreparedMessage =
  | {
      readonly kind: 'message';
      /** The run's message: what arrived, where it is, the captions or the transcript. */
      readonly text: string;
      /** Images for a model that sees (photos, and image files). */
      readonly images: readonly ImageRef[];
      /** What the voice and video notes said, quoted to the person above the answer. */
      readonly spoken: readonly string[];
    }
  | { readonly kind: 'refused'; readonly notice: string; readonly reason: string };

// An album's parts arrive as separate updates, usually in one batch; a part later than this after
// the previous one is a message of its own. Bounded, so a chat that keeps sending never stalls.
const ALBUM_MAX_WAIT_MS = 10_000;
// Image types every vision model takes (OpenAI: PNG, JPEG, WEBP, non-animated GIF).
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif']);
// A name may be taken between its reservation and the write (the agent's own files): a few tries.
const SAVE_TRIES = 5;

type Refusal = Extract<PreparedMessage, { kind: 'refused' }>;

/**
 * Makes an item's files ready and returns its run's message. `project` is null when the run works
 * in no project (AGENT_TOOLS=off): a voice note still works, a file is refused.
 */
export async function prepareMessage(
  deps: MessageFilesDeps,
  item: InboxRow,
  project: FilesProject | null,
  signal: AbortSignal,
): Promise<PreparedMessage> {
  if (item.mediaGroupId !== null && deps.files.files(item.id).length === 0) {
    await waitForAlbum(deps, item, signal);
  }
  const rows = deps.files.gather(item, deps.now());
  const lines: string[] = [];
  const captions: string[] = [];
  const images: ImageRef[] = [];
  const spoken: string[] = [];
  for (const row of rows) {
    const media = parseMedia(row.media);
    if (media === null) continue;
    if (row.caption !== null && row.caption.trim() !== '') captions.push(row.caption.trim());
    if (isSpoken(media.kind)) {
      const said = await transcribed(deps, row, media, signal);
      if (typeof said !== 'string') return said;
      spoken.push(said);
      continue;
    }
    if (project === null) return refusal(NO_PROJECT_NOTICE, 'files need the agent tools (AGENT_TOOLS=off)');
    const saved = await savedFile(deps, row, media, project, signal);
    if ('notice' in saved) return saved;
    lines.push(describeFile(media, saved.path, saved.bytes));
    const type = media.mimeType ?? '';
    if (media.kind === 'photo' || IMAGE_TYPES.has(type)) {
      images.push({ path: saved.path, mimeType: media.kind === 'photo' ? 'image/jpeg' : type });
    }
  }
  const said = spoken.filter((s) => s !== '');
  const parts = [
    ...(lines.length === 0 ? [] : [lines.join('\n')]),
    ...(said.length === 0 ? [] : [said.join('\n\n')]),
    ...captions,
  ];
  if (parts.length === 0) {
    return refusal(NOTHING_HEARD_NOTICE, 'the voice message had no words');
  }
  return { kind: 'message', text: parts.join('\n\n'), images, spoken: said };
}

/** The notice for a file when the agent works in no project. */
export const NO_PROJECT_NOTICE =
  "Files and photos are saved into the project the agent works in, and the agent's tools are off here (AGENT_TOOLS=off). Please send the text instead.";
/** The notice for a voice message when transcription is off. */
export const VOICE_OFF_NOTICE =
  'Voice messages are not read here (OPENAI_TRANSCRIBE_MODEL=off). Please send your message as text.';
/** The notice for a voice message in which the transcription heard nothing. */
export const NOTHING_HEARD_NOTICE = 'I could not make out any words in your voice message. Please try again.';

/** The notice for a file over the download limit. */
export function tooBigNotice(what: string, size: number | null, maxBytes: number): string {
  const sized = size === null ? '' : ` (${megabytes(size)})`;
  return `Your ${what}${sized} is over the ${megabytes(maxBytes)} a bot may download from Telegram, so it was not saved. Please send a smaller file, or put it in the project another way.`;
}

function refusal(notice: string, reason: string): Refusal {
  return { kind: 'refused', notice, reason };
}

/** Waits until the album's last part is `albumWaitMs` old (bounded), so its parts are one message. */
async function waitForAlbum(deps: MessageFilesDeps, item: InboxRow, signal: AbortSignal): Promise<void> {
  const until = deps.now() + ALBUM_MAX_WAIT_MS;
  for (;;) {
    const last = deps.files.albumLastArrival(item.chatId!, item.mediaGroupId!);
    const quietAt = Math.min(until, last + deps.albumWaitMs);
    const wait = quietAt - deps.now();
    if (wait <= 0 || signal.aborted) return;
    await sleep(wait, signal);
  }
}

/** A voice or video note's transcript: stored once it is paid for, read from there after a kill. */
async function transcribed(
  deps: MessageFilesDeps,
  row: MessageFileRow,
  media: MessageMedia,
  signal: AbortSignal,
): Promise<string | Refusal> {
  if (row.transcript !== null) return row.transcript;
  if (deps.transcribe === null)
    return refusal(VOICE_OFF_NOTICE, 'voice is off (OPENAI_TRANSCRIBE_MODEL=off)');
  const what = media.kind === 'voice' ? 'voice message' : 'video message';
  const variant = fitting(media, deps.fileMaxBytes);
  if (variant === undefined) {
    return refusal(
      tooBigNotice(what, media.variants[0]!.size, deps.fileMaxBytes),
      `${what} over TG_FILE_MAX_MB`,
    );
  }
  const bytes = await download(deps, variant, signal);
  if (bytes === null)
    return refusal(tooBigNotice(what, variant.size, deps.fileMaxBytes), `${what} over TG_FILE_MAX_MB`);
  const transcript = (
    await deps.transcribe(
      {
        bytes,
        filename: audioFilename(media.kind as 'voice' | 'video_note', media.mimeType ?? undefined),
        mimeType: media.mimeType ?? 'audio/ogg',
      },
      signal,
    )
  ).trim();
  deps.files.storeTranscript(row, transcript);
  return transcript;
}

/** A file saved in the project: its path and size, or the refusal the person gets. */
async function savedFile(
  deps: MessageFilesDeps,
  row: MessageFileRow,
  media: MessageMedia,
  project: FilesProject,
  signal: AbortSignal,
): Promise<{ readonly path: string; readonly bytes: number } | Refusal> {
  if (row.saved && row.path !== null && row.project === project.name) {
    return { path: row.path, bytes: row.bytes ?? 0 };
  }
  const what = media.kind === 'photo' ? 'photo' : 'file';
  const variant = fitting(media, deps.fileMaxBytes);
  if (variant === undefined) {
    return refusal(
      tooBigNotice(what, media.variants[0]!.size, deps.fileMaxBytes),
      `${what} over TG_FILE_MAX_MB`,
    );
  }
  const full = await uploadsFull(deps, project.root, variant.size ?? 0);
  if (full) return full;
  const bytes = await download(deps, variant, signal);
  if (bytes === null)
    return refusal(tooBigNotice(what, variant.size, deps.fileMaxBytes), `${what} over TG_FILE_MAX_MB`);
  const fullNow = await uploadsFull(deps, project.root, bytes.length);
  if (fullNow) return fullNow;
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  const base = uploadBaseName({
    fileName: media.name,
    kind: media.kind,
    mimeType: media.mimeType,
    date: deps.now(),
  });
  let path: string;
  try {
    path = await saveBytes(deps, row, project, { base, bytes, sha256 });
  } catch (err) {
    // `uploads` made a link or a file (by a command, or the model): refused, nothing written
    if (err instanceof UploadsRefusedError)
      return refusal(err.message, `${UPLOADS_DIR}/ refused: ${err.message}`);
    throw err;
  }
  deps.files.markSaved(row);
  deps.log.info('saved a file from the chat', { id: row.inboxId, path, bytes: bytes.length });
  return { path, bytes: bytes.length };
}

/**
 * Writes the bytes under a free name in uploads/, the name reserved (with the bytes' hash) before
 * the write: after a kill, the same bytes go to the same path, and a file that is already there
 * with them is taken as written.
 */
async function saveBytes(
  deps: MessageFilesDeps,
  row: MessageFileRow,
  project: FilesProject,
  upload: { readonly base: string; readonly bytes: Buffer; readonly sha256: string },
): Promise<string> {
  const { base, bytes, sha256 } = upload;
  let path =
    row.path !== null && row.sha256 === sha256 && row.project === project.name
      ? row.path
      : await reserveUploadPath(project.root, base);
  for (let tries = 1; ; tries++) {
    deps.files.reservePath(row, { project: project.name, path, bytes: bytes.length, sha256 });
    if ((await writeUpload(project.root, path, bytes)) !== 'taken') return path;
    if (tries >= SAVE_TRIES) throw new Error(`could not find a free name in ${UPLOADS_DIR}/ for ${base}`);
    path = await reserveUploadPath(project.root, base);
  }
}

/** The refusal when `adding` bytes would pass AGENT_UPLOADS_MAX_MB, else null. */
async function uploadsFull(deps: MessageFilesDeps, root: string, adding: number): Promise<Refusal | null> {
  const used = await uploadsBytes(root);
  if (used + adding <= deps.uploadsMaxBytes) return null;
  return refusal(
    `The project's ${UPLOADS_DIR}/ folder holds ${megabytes(used)}, and this file would pass its ${megabytes(deps.uploadsMaxBytes)} (AGENT_UPLOADS_MAX_MB), so it was not saved. Ask me to delete old uploads, then send it again.`,
    `${UPLOADS_DIR}/ full (AGENT_UPLOADS_MAX_MB)`,
  );
}

/** The largest variant Telegram said is within the limit (or did not say its size). */
function fitting(media: MessageMedia, maxBytes: number): FileVariant | undefined {
  return media.variants.find((v) => v.size === null || v.size <= maxBytes);
}

/** A file's bytes from Telegram; null when it is over the limit after all (Telegram's or ours). */
async function download(
  deps: MessageFilesDeps,
  variant: FileVariant,
  signal: AbortSignal,
): Promise<Buffer | null> {
  try {
    const file = await deps.telegram.getFile(variant.fileId, signal);
    return await deps.telegram.downloadFile(file.filePath, deps.fileMaxBytes, signal);
  } catch (err) {
    if (isTelegramFailure(err, 'file_too_big')) return null;
    throw err;
  }
}

/** One line of the run's message for a saved file. */
function describeFile(media: MessageMedia, path: string, bytes: number): string {
  const size = kilobytes(bytes);
  const variant = media.variants[0];
  switch (media.kind) {
    case 'photo': {
      const dims =
        variant?.width !== undefined && variant.height !== undefined
          ? `${variant.width}×${variant.height}, `
          : '';
      return `The person sent a photo, saved at ${path} (${dims}${size}).`;
    }
    case 'audio':
    case 'video':
      return `The person sent ${media.kind === 'audio' ? 'an audio file' : 'a video'}, saved at ${path} (${size}${typeOf(media)}).`;
    default:
      return `The person sent a file, saved at ${path} (${size}${typeOf(media)}).`;
  }
}

function typeOf(media: MessageMedia): string {
  return media.mimeType === null ? '' : `, ${media.mimeType}`;
}

function kilobytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return megabytes(bytes);
}

function megabytes(bytes: number): string {
  const mb = bytes / 1024 / 1024;
  return `${mb >= 10 ? Math.round(mb) : mb.toFixed(1).replace(/\.0$/, '')} MB`;
}
