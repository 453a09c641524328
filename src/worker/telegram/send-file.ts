// How the bot hands a file to a chat: an image Telegram can show inline goes as a photo, anything
// else as a document. A photo Telegram will not take (its dimensions, its format) costs one more
// request, not the file: the same bytes go again as a document.

import nodePath from 'node:path';
import { TELEGRAM_PHOTO_LIMIT_BYTES, type TelegramClient } from './client';
import { FILE_TOO_BIG, isTelegramFailure, PHOTO_REFUSED } from './failures';

// The image types sendPhoto takes; GIFs become animations there and SVGs are no photos at all.
const PHOTO_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** A file to send: its bytes and the name the chat shows. */
export interface ChatFile {
  readonly bytes: Buffer;
  readonly name: string;
}

/** Whether `file` goes as a photo: a JPEG, PNG or WebP by its name, within Telegram's 10 MB photo limit. */
export function goesAsPhoto(file: ChatFile): boolean {
  return (
    PHOTO_EXTENSIONS.has(nodePath.extname(file.name).toLowerCase()) &&
    file.bytes.byteLength <= TELEGRAM_PHOTO_LIMIT_BYTES
  );
}

/**
 * Sends `file` to the chat, as a photo when it goes as one (see `goesAsPhoto`), else as a
 * document; a photo Telegram refuses goes again as a document. Returns the message id. Every other
 * failure propagates with its class: transient ones for the caller to retry.
 */
export async function sendFileToChat(
  telegram: Pick<TelegramClient, 'sendPhoto' | 'sendDocument'>,
  chatId: number,
  file: ChatFile,
  caption: string | undefined,
  replyTo: number | null,
  signal?: AbortSignal,
): Promise<number> {
  const source = { buffer: file.bytes, filename: file.name };
  if (goesAsPhoto(file)) {
    try {
      return await telegram.sendPhoto(chatId, source, caption, replyTo, signal);
    } catch (err) {
      // "file is too big" for a photo under 10 MB judges the photo too: a document may be 50 MB
      if (!isTelegramFailure(err, PHOTO_REFUSED, FILE_TOO_BIG)) throw err;
    }
  }
  return telegram.sendDocument(chatId, source, caption, replyTo, signal);
}
