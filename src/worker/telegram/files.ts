// Files users send, fetched after getFile named them. Telegram's file server is no Bot API
// method, so the download has its own request, but its failures go through the same rule table
// (as the pseudo-method FILE_DOWNLOAD) and come out as the same `TelegramError`s. The download URL
// carries the bot token, and so does the absolute path a local Bot API server answers (its working
// directory has a folder per token): no message is built from either without hiding the token.

import fs from 'node:fs';
import nodePath from 'node:path';
import { NetworkError, TelegramApiError, TimeoutError } from 'node-telegram-bot-api';
import { REDACTED, secretParts } from '../../shared/redact';
import { causeChain } from '../errors';
import {
  classifyTelegramError,
  FILE_DOWNLOAD,
  FILE_TOO_BIG,
  FILE_UNREADABLE,
  TelegramError,
} from './failures';

/** Where files come from: the client's own API root, token and request timeout. */
export interface FileServer {
  readonly apiRoot: string;
  readonly token: string;
  readonly timeoutMs: number;
}

// Enough of an error page to find Telegram's description in it.
const ERROR_BODY_BYTES = 4096;
const READ_CHUNK_BYTES = 1024 * 1024;
// A path that is not there, a symlink (O_NOFOLLOW), a socket, or no permission: asking again
// changes nothing. Other errors (too many open files, I/O) may pass.
const PERMANENT_OPEN_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES', 'EPERM', 'ENXIO', 'EISDIR']);
const OPEN_ERROR_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'it does not exist',
  ENOTDIR: 'it does not exist',
  ELOOP: 'it is a symbolic link',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

// Telegram's own Bot API server, which never answers a path on a disk of ours
const TELEGRAM_HOST = 'api.telegram.org';

/** Whether `server` may answer paths on this machine's disk: a local Bot API server, not Telegram's. */
export function readsLocalPaths(server: Pick<FileServer, 'apiRoot'>): boolean {
  return new URL(server.apiRoot).hostname !== TELEGRAM_HOST;
}

/**
 * The bytes of the file at `filePath` as getFile gave it, at most `maxBytes`: read from disk when
 * the path is absolute and the server is a local Bot API server (it answers those and serves
 * nothing under /file/), else fetched from `/file/bot<token>/<file_path>`.
 */
export function downloadFile(
  server: FileServer,
  filePath: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  if (!nodePath.isAbsolute(filePath)) return fetchFile(server, filePath, maxBytes, signal);
  if (!readsLocalPaths(server)) {
    return Promise.reject(
      new TelegramError(
        FILE_UNREADABLE,
        'permanent',
        FILE_UNREADABLE,
        "Telegram's Bot API answered a path on this machine's disk for a file; only a local Bot API server (TELEGRAM_API_ROOT) may.",
      ),
    );
  }
  return readLocalFile(server, filePath, maxBytes);
}

async function fetchFile(
  server: FileServer,
  filePath: string,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  const root = server.apiRoot.replace(/\/+$/, '');
  const url = `${root}/file/bot${server.token}/${filePath.split('/').map(encodeURIComponent).join('/')}`;
  const timeout = AbortSignal.timeout(server.timeoutMs);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const response = await fetch(url, { signal: both });
    if (!response.ok) throw await refusalOf(response);
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declared > maxBytes) {
      await response.body?.cancel();
      throw tooBig(filePath, maxBytes, declared);
    }
    const read = await readUpTo(response.body, maxBytes);
    if (read.over) throw tooBig(filePath, maxBytes);
    return read.bytes;
  } catch (err) {
    if (err instanceof TelegramError || err instanceof TelegramApiError || signal?.aborted)
      throw classifyTelegramError(err, FILE_DOWNLOAD);
    if (timeout.aborted) throw classifyTelegramError(new TimeoutError(), FILE_DOWNLOAD);
    // fetch's own errors name no URL today; the token is taken out all the same
    const detail = isErrorLike(err) ? causeChain(err) : String(err);
    throw classifyTelegramError(new NetworkError(hideToken(detail, server.token)), FILE_DOWNLOAD);
  }
}

/** A non-2xx answer of the file server as the refusal the rules read, with Telegram's description when it gave one. */
async function refusalOf(response: Response): Promise<TelegramApiError> {
  const { bytes } = await readUpTo(response.body, ERROR_BODY_BYTES);
  let description = response.statusText || 'HTTP error';
  try {
    const envelope = JSON.parse(bytes.toString('utf8')) as { description?: unknown };
    if (typeof envelope.description === 'string') description = envelope.description;
  } catch {
    // a proxy's HTML page: the status says enough
  }
  return new TelegramApiError(response.status, description);
}

/** At most `limit` bytes of `body`, and whether it had more; stops reading (and cancels) once over. */
async function readUpTo(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<{ bytes: Buffer; over: boolean }> {
  if (!body) return { bytes: Buffer.alloc(0), over: false };
  const reader = body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: Buffer.concat(chunks, total), over: false };
      const room = limit - total;
      if (value.byteLength > room) {
        chunks.push(Buffer.from(value.buffer, value.byteOffset, room));
        return { bytes: Buffer.concat(chunks, limit), over: true };
      }
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      total += value.byteLength;
    }
  } finally {
    // releases the connection when we stopped early; a no-op after the end
    await reader.cancel().catch(() => undefined);
  }
}

async function readLocalFile(server: FileServer, filePath: string, maxBytes: number): Promise<Buffer> {
  const shown = hideToken(filePath, server.token);
  let handle: fs.promises.FileHandle;
  try {
    // O_NONBLOCK: a FIFO put in the file's place must not hang the open
    const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
    handle = await fs.promises.open(filePath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (PERMANENT_OPEN_ERRORS.has(code))
      throw unreadable(shown, OPEN_ERROR_REASONS[code] ?? `open failed with ${code}`);
    throw classifyTelegramError(
      new Error(`Cannot open ${shown} (${code || 'unknown error'}).`),
      FILE_DOWNLOAD,
    );
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw unreadable(shown, 'it is not a regular file');
    if (stat.size > maxBytes) throw tooBig(shown, maxBytes, stat.size);
    // the file may still grow after fstat: read one byte past the limit to notice
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw tooBig(shown, maxBytes);
    }
  } catch (err) {
    if (err instanceof TelegramError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw classifyTelegramError(new Error(`Cannot read ${shown} (${code}).`), FILE_DOWNLOAD);
  } finally {
    // the bytes are read or the failure is decided; a failed close of a read-only file changes neither
    await handle.close().catch(() => undefined);
  }
}

/** `size` when known (declared or on disk), else the file was found too big while reading it. */
function tooBig(name: string, maxBytes: number, size?: number): TelegramError {
  const what = size === undefined ? 'larger than' : `${sizeText(size)}, more than`;
  return new TelegramError(
    FILE_TOO_BIG,
    'permanent',
    FILE_TOO_BIG,
    `The file ${name} is ${what} the ${sizeText(maxBytes)} a download may take.`,
  );
}

function unreadable(name: string, reason: string): TelegramError {
  return new TelegramError(
    FILE_UNREADABLE,
    'permanent',
    FILE_UNREADABLE,
    `Cannot read the file ${name} that the local Bot API server named: ${reason}.`,
  );
}

function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// duck-typed: fetch's errors may come from another realm (a test runner's), where instanceof fails
function isErrorLike(value: unknown): value is Error {
  return typeof value === 'object' && value !== null && typeof (value as Error).message === 'string';
}

/**
 * `text` without the token or its secret half: classifyTelegramError's redaction knows only the
 * secrets registered at start and text shaped like a token, and a test or a custom server may use neither.
 */
function hideToken(text: string, token: string): string {
  return secretParts(token).reduce((out, part) => out.split(part).join(REDACTED), text);
}
