// Files a person sends from Telegram land in the project's `uploads/` folder. The project may hold
// anything a model wrote, so nothing here touches a path by name: every folder and file is opened
// through safe-fs, one component at a time without following a link, and the opened descriptor's
// real place is checked before a byte moves. An upload never replaces what is already there: the
// file is created with O_EXCL, and a name that is taken (by a file, a folder or a link) is left
// alone and the upload goes to the next free name.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import {
  listFolderInside,
  makeFolderInside,
  openInside,
  overwrite,
  readAt,
  readContent,
  replaceInside,
  withFileInside,
  type FolderEntry,
  type InsideFile,
} from './safe-fs';

/** The project folder uploads are saved in. */
export const UPLOADS_DIR = 'uploads';

/** Longest sanitized name taken from the sender's file name, in UTF-8 bytes (the date comes on top). */
export const MAX_UPLOAD_NAME_BYTES = 100;

/** Longest ending after the last dot that is kept as an extension when a name is shortened. */
const MAX_EXTENSION_BYTES = 16;

/** Mode of an uploaded file: the person's file, readable by the tools and the sandbox. */
const UPLOAD_MODE = 0o644;

/** Entries `uploadsBytes` looks at before it stops counting, so a planted huge tree cannot stall it. */
export const MAX_COUNTED_ENTRIES = 100_000;

/** Bytes hashed at a time when an existing file is compared with an upload. */
const COMPARE_CHUNK_BYTES = 1024 * 1024;

/** Times `writeUpload` tries again when the taken name vanishes before it could be compared. */
const WRITE_ATTEMPTS = 3;

const chmodFd = promisify(fs.fchmod);
const fsyncFd = promisify(fs.fsync);

/** Default names of the media Telegram sends without a file name. */
const KIND_NAMES: ReadonlyMap<string, string> = new Map([
  ['photo', 'photo.jpg'],
  ['voice', 'voice.ogg'],
  ['video_note', 'video-note.mp4'],
  ['video-note', 'video-note.mp4'],
]);

/** Kinds named after themselves, with an extension from the mime type; any other is a document. */
const GENERIC_KINDS: ReadonlySet<string> = new Set(['audio', 'video', 'document']);

/** Extensions of the mime types uploads commonly have. */
const MIME_EXTENSIONS: ReadonlyMap<string, string> = new Map([
  ['image/jpeg', '.jpg'],
  ['image/png', '.png'],
  ['image/webp', '.webp'],
  ['audio/ogg', '.ogg'],
  ['audio/mpeg', '.mp3'],
  ['video/mp4', '.mp4'],
  ['application/pdf', '.pdf'],
  ['text/plain', '.txt'],
  ['application/json', '.json'],
  ['application/zip', '.zip'],
]);

/** Errno codes that mean "no such regular file to read" rather than a fault of the worker. */
const NOT_A_READABLE_FILE: ReadonlySet<string> = new Set([
  'ENOENT',
  'ENOTDIR',
  'EISDIR',
  'EACCES',
  'EPERM',
  'ELOOP',
  'ENAMETOOLONG',
]);

/** What `writeUpload` did: wrote the file, found the very same bytes there, or found the name taken. */
export type UploadWrite = 'written' | 'same' | 'taken';

/**
 * The project's uploads folder cannot be used (a link, a file, or something kept changing it);
 * nothing was written. The message is a sentence for the person.
 */
export class UploadsRefusedError extends Error {
  override readonly name = 'UploadsRefusedError';
}

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The longest start of `text` of at most `max` UTF-8 bytes, cut between code points. */
function cutToBytes(text: string, max: number): string {
  let out = '';
  let used = 0;
  for (const char of text) {
    used += byteLength(char);
    if (used > max) break;
    out += char;
  }
  return out;
}

/** `name` as stem and extension (with its dot; '' when there is none or it is too long to be one). */
function splitExtension(name: string): [stem: string, extension: string] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return [name, ''];
  const extension = name.slice(dot);
  if (byteLength(extension) > MAX_EXTENSION_BYTES) return [name, ''];
  return [name.slice(0, dot), extension];
}

/** The sender's file name made safe to be one name in a folder; '' when nothing usable is left. */
function sanitizeName(fileName: string): string {
  // a sender's name is only a label: whatever folders it names are dropped
  const last = fileName.split(/[/\\]/).pop() ?? '';
  const safe = last
    .normalize('NFC')
    // control, format (bidi overrides and isolates, zero-width characters) and lone surrogates:
    // invisible, they would make a name read as another one
    .replace(/[\p{Cc}\p{Cf}\p{Cs}]/gu, '')
    // letters and digits of any script stay, with combining marks because scripts such as
    // Devanagari write vowels with them
    .replace(/[^\p{L}\p{M}\p{N}._-]/gu, '-')
    .replace(/-{2,}/g, '-')
    // no hidden file, and nothing a command line could take for an option
    .replace(/^[.-]+/, '');
  if (byteLength(safe) <= MAX_UPLOAD_NAME_BYTES) return safe;
  const [stem, extension] = splitExtension(safe);
  return cutToBytes(stem, MAX_UPLOAD_NAME_BYTES - byteLength(extension)) + extension;
}

/** The name of an upload Telegram sends without one (a photo, a voice note), by kind and mime type. */
function defaultName(kind: string, mimeType: string | null | undefined): string {
  const fixed = KIND_NAMES.get(kind);
  if (fixed !== undefined) return fixed;
  const stem = GENERIC_KINDS.has(kind) ? kind : 'document';
  const mime = (mimeType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return stem + (MIME_EXTENSIONS.get(mime) ?? '');
}

/**
 * The name an upload is saved under (before a free one is reserved): `YYYY-MM-DD-<name>` with the
 * UTC date of `date` (ms) and the sender's file name made safe, or a default by kind.
 */
export function uploadBaseName(input: {
  fileName?: string | null;
  kind: string;
  mimeType?: string | null;
  date: number;
}): string {
  if (!Number.isFinite(input.date)) throw new RangeError(`The upload's date ${input.date} is not a time.`);
  const day = new Date(input.date).toISOString().slice(0, 10);
  const name = sanitizeName(input.fileName ?? '') || defaultName(input.kind, input.mimeType);
  return `${day}-${name}`;
}

/** Throws unless `name` is one plain entry name (what `uploadBaseName` and `reserveUploadPath` give). */
function checkEntryName(name: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) || byteLength(name) > 200) {
    throw new Error(`${JSON.stringify(name)} is not a name for an upload; take one from uploadBaseName.`);
  }
}

/** Throws unless `relPath` is `uploads/<name>`: an upload is written nowhere else. */
function checkUploadPath(relPath: string): void {
  const prefix = `${UPLOADS_DIR}/`;
  if (!relPath.startsWith(prefix)) {
    throw new Error(
      `${JSON.stringify(relPath)} is not a path in ${UPLOADS_DIR}/; take one from reserveUploadPath.`,
    );
  }
  checkEntryName(relPath.slice(prefix.length));
}

/** What a failure to reach the uploads folder means for the caller: a refusal, or a fault as it is. */
function folderTrouble(err: unknown): unknown {
  const code = codeOf(err);
  if (code === 'ENOTDIR')
    return new UploadsRefusedError(
      `The project's ${UPLOADS_DIR} is not a folder; move it away so that uploads can be saved. Nothing was written.`,
    );
  if (code === 'ENOENT')
    return new UploadsRefusedError(
      `The project's ${UPLOADS_DIR} folder (or the project folder) disappeared while it was being opened; nothing was written. Try again.`,
    );
  return err;
}

/**
 * Makes `uploads/` exist (refusing it when it is a link, also one that stays in the project, or
 * not a folder) and returns `uploads/<name>` with the first of `baseName`, `stem-2.ext`,
 * `stem-3.ext`, … that nothing in the folder is called. The name is only free when looked at:
 * `writeUpload` decides, and says `taken` if something got there first.
 */
export async function reserveUploadPath(root: string, baseName: string): Promise<string> {
  checkEntryName(baseName);
  let entries: readonly FolderEntry[];
  try {
    // the folder is never reached through a link: a link named uploads is refused, not followed
    const made = makeFolderInside(root, UPLOADS_DIR, { literal: true });
    if (!made.ok) throw new UploadsRefusedError(made.error);
    const listed = await listFolderInside(root, UPLOADS_DIR, { literal: true });
    if (!listed.ok) throw new UploadsRefusedError(listed.error);
    entries = listed.entries;
  } catch (err) {
    throw folderTrouble(err);
  }
  const taken = new Set(entries.map((entry) => entry.name));
  let name = baseName;
  const [stem, extension] = splitExtension(baseName);
  for (let n = 2; taken.has(name); n++) name = `${stem}-${n}${extension}`;
  return `${UPLOADS_DIR}/${name}`;
}

/** Opens `relPath` as a file this call creates; 'exists' when anything is at the name. */
function createExclusively(root: string, relPath: string): InsideFile | 'exists' {
  let opened;
  try {
    opened = openInside(root, relPath, 'new', { literal: true, mode: UPLOAD_MODE });
  } catch (err) {
    if (codeOf(err) === 'EEXIST') return 'exists';
    throw folderTrouble(err);
  }
  if (!opened.ok) throw new UploadsRefusedError(opened.error);
  return opened.file;
}

/** Writes all of `bytes` into the new file and makes them durable; a failed write leaves no file. */
async function fill(root: string, relPath: string, file: InsideFile, bytes: Buffer): Promise<void> {
  try {
    try {
      // the mode asked at creation went through the umask
      await chmodFd(file.fd, UPLOAD_MODE);
      await overwrite(file, bytes);
      await fsyncFd(file.fd);
    } finally {
      fs.closeSync(file.fd);
    }
  } catch (err) {
    // a half-written upload would only be "taken" when retried: take it back (through the
    // folder's descriptor, without following a link), best effort
    await replaceInside(root, relPath, null).catch(() => undefined);
    throw err;
  }
}

/** SHA-256 of at most `limit` bytes from the start of an open file. */
async function digestOf(file: InsideFile, limit: number): Promise<Buffer> {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(Math.min(COMPARE_CHUNK_BYTES, Math.max(limit, 1)));
  for (let done = 0; done < limit;) {
    const read = await readAt(file, chunk.subarray(0, Math.min(chunk.length, limit - done)), done);
    if (read === 0) break;
    hash.update(chunk.subarray(0, read));
    done += read;
  }
  return hash.digest();
}

/**
 * Whether the entry at `relPath` is a regular file holding exactly `bytes`; 'gone' when it
 * vanished before it could be opened. A link is never followed: it holds nothing of ours.
 */
async function holdsExactly(root: string, relPath: string, bytes: Buffer): Promise<boolean | 'gone'> {
  const wanted = createHash('sha256').update(bytes).digest();
  try {
    const compared = await withFileInside(
      root,
      relPath,
      'read',
      // one byte more than the upload: a longer file that starts the same is another file
      async (file) => file.size === bytes.length && (await digestOf(file, bytes.length + 1)).equals(wanted),
      { literal: true },
    );
    return compared.ok && compared.value;
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return 'gone';
    if (NOT_A_READABLE_FILE.has(codeOf(err) ?? '')) return false;
    throw err;
  }
}

/**
 * Saves `bytes` at `relPath` (`uploads/<name>` from `reserveUploadPath`) as a new file, mode 0644,
 * written in full and fsynced. Never replaces anything: when the name exists, `same` if it is a
 * regular file with exactly these bytes (an earlier attempt of this upload that completed),
 * otherwise `taken` (a folder, a link, other content, also a shorter file these bytes start with:
 * a file whose writing was cut short cannot be told from one the model wrote, so it is left as it
 * is), and the caller reserves another name. Throws `UploadsRefusedError` when the uploads folder
 * cannot be used.
 */
export async function writeUpload(root: string, relPath: string, bytes: Buffer): Promise<UploadWrite> {
  checkUploadPath(relPath);
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const created = createExclusively(root, relPath);
    if (created !== 'exists') {
      await fill(root, relPath, created, bytes);
      return 'written';
    }
    const held = await holdsExactly(root, relPath, bytes);
    if (held !== 'gone') return held ? 'same' : 'taken';
  }
  return 'taken';
}

/**
 * Total bytes of the regular files below `uploads/`, its subfolders included; links are not
 * followed and count nothing. 0 when there is no such folder; counting stops after
 * MAX_COUNTED_ENTRIES entries.
 */
export async function uploadsBytes(root: string): Promise<number> {
  let total = 0;
  let entries = 0;
  const folders = [UPLOADS_DIR];
  for (let folder = folders.pop(); folder !== undefined; folder = folders.pop()) {
    let listed;
    try {
      listed = await listFolderInside(root, folder, { literal: true, sizes: true });
    } catch {
      continue; // gone or unreadable meanwhile
    }
    if (!listed.ok) continue; // a link: nothing of the uploads
    for (const entry of listed.entries) {
      if (++entries > MAX_COUNTED_ENTRIES) return total;
      const relPath = `${folder}/${entry.name}`;
      if (entry.kind === 'folder') folders.push(relPath);
      else if (entry.kind === 'file') total += entry.size ?? 0;
    }
  }
  return total;
}

/**
 * The bytes of the regular project file `relPath` (links inside the project followed), or null
 * when it is missing, not a regular file, outside the project (also through a link), or over
 * `maxBytes`.
 */
export async function readProjectImage(
  root: string,
  relPath: string,
  maxBytes: number,
): Promise<Buffer | null> {
  if (!(maxBytes >= 0)) throw new RangeError(`The image size limit ${maxBytes} is not a number of bytes.`);
  let read;
  try {
    read = await withFileInside(root, relPath, 'read', async (file) =>
      // one byte over the limit is enough to know that a file grown meanwhile is too big
      file.size > maxBytes ? null : readContent(file, maxBytes + 1),
    );
  } catch (err) {
    if (NOT_A_READABLE_FILE.has(codeOf(err) ?? '')) return null;
    throw err;
  }
  if (!read.ok || read.value === null || read.value.length > maxBytes) return null;
  return read.value;
}
