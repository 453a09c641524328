// Files the bot uploads: checked against Telegram's limit and made into a multipart part before
// anything is sent, so a file Telegram would refuse costs no upload.

import fs from 'node:fs';
import nodePath from 'node:path';
import { InputFile } from 'node-telegram-bot-api';
import { FILE_TOO_BIG, TelegramError } from './failures';

/** A file to upload: from disk, or bytes in memory with the name the chat shows. */
export type DocumentSource =
  | { readonly path: string; readonly filename?: string }
  | { readonly buffer: Uint8Array; readonly filename: string };

/** Telegram's limit for a file a bot uploads (sendDocument): 50 MB. */
export const TELEGRAM_UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024;

/**
 * The upload form of a file. Throws `file_too_big` for a file over Telegram's 50 MB and
 * `file_unreadable` for a path that is not a readable regular file (both permanent).
 */
export async function inputFile(source: DocumentSource): Promise<InputFile> {
  if ('buffer' in source) {
    if (source.buffer.byteLength > TELEGRAM_UPLOAD_LIMIT_BYTES)
      throw tooBig(source.buffer.byteLength, source.filename);
    return new InputFile(source.buffer, { filename: source.filename });
  }
  const filename = source.filename ?? nodePath.basename(source.path);
  let size: number;
  try {
    const stat = await fs.promises.stat(source.path);
    if (!stat.isFile()) throw new Error('not a regular file');
    size = stat.size;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new TelegramError(
      'file_unreadable',
      'permanent',
      'file_unreadable',
      `Cannot read ${filename}: ${reason}.`,
    );
  }
  if (size > TELEGRAM_UPLOAD_LIMIT_BYTES) throw tooBig(size, filename);
  // A disk-backed Blob streams into the upload: memory stays flat for a 50 MB file.
  return new InputFile(await fs.openAsBlob(source.path), { filename });
}

function tooBig(size: number, filename: string): TelegramError {
  return new TelegramError(
    FILE_TOO_BIG,
    'permanent',
    FILE_TOO_BIG,
    `The file ${filename} is ${(size / 1024 / 1024).toFixed(1)} MB; Telegram takes files up to 50 MB from a bot.`,
  );
}
