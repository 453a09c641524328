// The worker's own file access, which nothing can lead out of the project. `resolveInside` checks
// a path, but the worker runs outside any sandbox: if it then opened that path by name, a command
// of another chat could swap a folder of it for a symlink to the home folder in between and the
// worker would read or write there for it. So every open starts at the project's root and goes
// one component at a time, following no symlink (openat with O_NOFOLLOW: Node has no openat, so
// each step opens `/proc/self/fd/<folder>/<name>`, which the kernel resolves inside the folder the
// descriptor holds), and the opened descriptor's real path is checked before a byte moves. Files
// open with O_NONBLOCK and must be regular, so a FIFO planted by a command cannot block the worker.
// Without /proc (not Linux) each step goes by path and every folder of the path is compared with
// an lstat after it: a swap still in place is caught, one made and undone between two calls is
// not. The worker runs on Linux, where the walk through /proc leaves no such window.
//
// Opening is synchronous: a handful of system calls of microseconds each, where going through the
// thread pool for every one made grep over a few thousand files take seconds. Reading and writing
// the content is asynchronous.
import fs, { type Dirent } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { isInside, resolveInside, type PathUse } from './paths';

const { O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY, O_DIRECTORY } = fs.constants;

const readFd = promisify(fs.read);
const writeFd = promisify(fs.write);
const truncateFd = promisify(fs.ftruncate);
const chmodFd = promisify(fs.fchmod);

/** Bytes read at a time once a file turns out longer than it was when opened. */
const READ_CHUNK_BYTES = 1024 * 1024;

/** The folder of the process's descriptors: `<it>/<fd>` names the open file itself. */
const PROC_FD = '/proc/self/fd';

/** How a file is opened: read-only, or read-write (never allowed inside `.git`). */
export type FileAccess =
  /** Read-only, anywhere in the project. */
  | 'read'
  /** Read-only with a write's confinement (not inside `.git`): whether a change took effect. */
  | 'check'
  /** Read and write an existing file. */
  | 'update'
  /** Read and write; the file and its missing folders are created, folder by folder. */
  | 'create'
  /**
   * Read and write a file this open creates, never one that was there: anything at the name (a
   * link included, which is not followed) fails the open with EEXIST. Missing folders are created.
   */
  | 'new';

/**
 * How a path is taken: as a tool's argument (relative or absolute, resolved by `resolveInside`,
 * so links that stay inside the project are followed to their target first) or `literal`:
 * relative to the project's real root as a walk found it, with no link followed anywhere.
 */
export interface PathOptions {
  readonly literal?: boolean;
}

/**
 * Why an open was refused: the path itself (outside, `.git`, a loop: `resolveInside`'s sentence),
 * a symlink met while opening, the file moved out while it was opened, or a FIFO, socket or device.
 */
export type RefusalReason = 'path' | 'link' | 'moved' | 'special';

/** A refused open, with the sentence the model reads. Nothing was read or written. */
export interface Refusal {
  readonly ok: false;
  readonly reason: RefusalReason;
  readonly error: string;
}

/** What a confined operation gives: its result, or the refusal. */
export type Confined<T> = ({ readonly ok: true } & T) | Refusal;

/** A regular file of the project, open; whoever opened it closes `fd`. */
export interface InsideFile {
  readonly fd: number;
  /** Relative to the project's real root, as the descriptor's real path says. */
  readonly relative: string;
  /** Size when it was opened. */
  readonly size: number;
  /** Whether this open created it (`create` only). */
  readonly created: boolean;
}

/** What an entry of a folder is, as the folder lists it (a symlink is never looked through). */
export type EntryKind = 'folder' | 'file' | 'link' | 'other';

/** One entry of a listed folder. */
export interface FolderEntry {
  readonly name: string;
  readonly kind: EntryKind;
  /** A symlink's target as written in the link (not resolved, never followed). */
  readonly linkTarget?: string;
  /** A regular file's size, when the listing was asked for sizes. */
  readonly size?: number;
}

/** What /undo puts at a path of the working tree: a file, a symlink, or nothing (deleted). */
export type TreeContent =
  | { readonly kind: 'file'; readonly bytes: Buffer; readonly mode: number }
  | { readonly kind: 'link'; readonly target: string }
  | null;

/** Where a folder was found, to tell later whether its path still leads to it (without /proc). */
interface Mark {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/** A folder held open during a walk down from the root. */
interface Folder {
  readonly fd: number;
  /** Its absolute path when it was opened: for messages and the walk without /proc. */
  readonly path: string;
  /** The project's real root. */
  readonly root: string;
  readonly viaProc: boolean;
  /** Without /proc: this folder and every one above it, as they were opened. */
  readonly trail: readonly Mark[];
}

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

function refusal(reason: RefusalReason, error: string): Refusal {
  return { ok: false, reason, error };
}

function linkRefusal(input: string, sub: string): Refusal {
  return refusal(
    'link',
    `${input}: ${sub} is a symbolic link, which is not followed here (something may have changed the project while it was being opened); nothing was read or written.`,
  );
}

/** The name an entry of `folder` is opened by: through its descriptor when /proc is there. */
function entryPath(folder: Folder, name: string): string {
  return folder.viaProc ? `${PROC_FD}/${folder.fd}/${name}` : path.join(folder.path, name);
}

/** The real path of an open descriptor; null when /proc cannot say. */
function realPathOf(fd: number): string | null {
  try {
    // an unlinked file still reads as its old path with this suffix; it is where it was
    return fs.readlinkSync(`${PROC_FD}/${fd}`).replace(/ \(deleted\)$/, '');
  } catch {
    return null;
  }
}

function markOf(fd: number, abs: string): Mark {
  const stat = fs.fstatSync(fd);
  return { path: abs, dev: stat.dev, ino: stat.ino };
}

/** Whether every path of `trail` still leads to the folder it led to (the walk without /proc). */
function trailIntact(trail: readonly Mark[]): boolean {
  return trail.every((mark) => {
    const now = fs.lstatSync(mark.path, { throwIfNoEntry: false });
    return now !== undefined && !now.isSymbolicLink() && now.dev === mark.dev && now.ino === mark.ino;
  });
}

/** Whether the entry at `abs` is still the open `fd` (the walk without /proc). */
function stillAt(abs: string, fd: number): boolean {
  const named = fs.lstatSync(abs, { throwIfNoEntry: false });
  const open = fs.fstatSync(fd);
  return named !== undefined && !named.isSymbolicLink() && named.dev === open.dev && named.ino === open.ino;
}

/**
 * Whether an O_NOFOLLOW|O_DIRECTORY open that failed with ENOTDIR met a link (or something
 * swapped since) rather than a plain file where a folder was wanted.
 */
function wasLink(folder: Folder, name: string): boolean {
  const now = fs.lstatSync(entryPath(folder, name), { throwIfNoEntry: false });
  return now === undefined || now.isSymbolicLink() || now.isDirectory();
}

function openRoot(root: string): Folder {
  const real = fs.realpathSync(root);
  const fd = fs.openSync(real, O_RDONLY | O_DIRECTORY);
  const seen = realPathOf(fd);
  if (seen !== null && seen !== real) {
    fs.closeSync(fd);
    throw new Error(`The project folder ${root} moved while it was being opened; try again.`);
  }
  const viaProc = seen !== null;
  return { fd, path: real, root: real, viaProc, trail: viaProc ? [] : [markOf(fd, real)] };
}

/** Opens the folder `name` of `folder` without following a link; creates it first if asked. */
function openSubfolder(
  folder: Folder,
  name: string,
  create: boolean,
  input: string,
  sub: string,
): Folder | Refusal {
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(entryPath(folder, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (err) {
      const code = codeOf(err);
      if (code === 'ENOENT' && create && attempt < 3) {
        try {
          // mkdir never follows a link at the new name, and through /proc it lands in this folder
          fs.mkdirSync(entryPath(folder, name));
        } catch (mkdirErr) {
          if (codeOf(mkdirErr) !== 'EEXIST') throw mkdirErr;
        }
        continue;
      }
      // O_NOFOLLOW on a link: ELOOP, or ENOTDIR with O_DIRECTORY
      if (code === 'ELOOP' || (code === 'ENOTDIR' && wasLink(folder, name))) return linkRefusal(input, sub);
      throw err;
    }
    const next = { fd, path: path.join(folder.path, name), root: folder.root, viaProc: folder.viaProc };
    if (folder.viaProc) return { ...next, trail: [] };
    // without /proc the open went by path: it counts only if that path still leads, folder by
    // folder, to what was opened
    const trail = [...folder.trail, markOf(fd, next.path)];
    if (!trailIntact(trail)) {
      fs.closeSync(fd);
      return linkRefusal(input, sub);
    }
    return { ...next, trail };
  }
}

/**
 * Opens the folder `parts` below the project's root, one component at a time (creating missing
 * ones if asked); the caller closes the folder it gets.
 */
function descend(root: string, parts: readonly string[], create: boolean, input: string): Folder | Refusal {
  let folder = openRoot(root);
  try {
    for (let i = 0; i < parts.length; i++) {
      const next = openSubfolder(folder, parts[i] as string, create, input, parts.slice(0, i + 1).join('/'));
      if ('ok' in next) return next;
      fs.closeSync(folder.fd);
      folder = next;
    }
  } catch (err) {
    fs.closeSync(folder.fd);
    throw err;
  }
  return folder;
}

/**
 * Where an open descriptor really is, relative to the root, or why it may not be used: it moved
 * out of the project, or (for a write) into `.git`, after it was found.
 */
function confirmPlace(
  fd: number,
  abs: string,
  folder: Folder,
  use: PathUse,
  input: string,
): Confined<{ relative: string }> {
  const real = folder.viaProc ? realPathOf(fd) : stillAt(abs, fd) && trailIntact(folder.trail) ? abs : null;
  if (real === null)
    return refusal('moved', `${input} changed while it was being opened; nothing was read or written.`);
  if (!isInside(folder.root, real)) {
    return refusal(
      'moved',
      `${input} moved out of the project folder while it was being opened (it is now at ${real}); nothing was read or written.`,
    );
  }
  const relative = path.relative(folder.root, real) || '.';
  if (use === 'write' && relative.split(path.sep).includes('.git')) {
    return refusal(
      'moved',
      `${input} is inside a .git folder; the repository's own files cannot be written.`,
    );
  }
  return { ok: true, relative };
}

function openFinal(
  folder: Folder,
  name: string,
  access: FileAccess,
  mode: number,
): { fd: number; created: boolean } {
  const where = entryPath(folder, name);
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever
  const base = O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
  if (access === 'read' || access === 'check')
    return { fd: fs.openSync(where, O_RDONLY | base), created: false };
  if (access === 'update') return { fd: fs.openSync(where, O_RDWR | base), created: false };
  if (access === 'new')
    return { fd: fs.openSync(where, O_RDWR | O_CREAT | O_EXCL | base, mode), created: true };
  // O_EXCL first to know whether this open created the file (write says Created or Replaced)
  for (let attempt = 0; ; attempt++) {
    try {
      return { fd: fs.openSync(where, O_RDWR | O_CREAT | O_EXCL | base, mode), created: true };
    } catch (err) {
      if (codeOf(err) !== 'EEXIST' || attempt >= 2) throw err;
    }
    try {
      return { fd: fs.openSync(where, O_RDWR | base), created: false };
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw err; // removed in between: create it after all
    }
  }
}

/** Opens the regular file `name` of an open folder, checked; the caller owns the fd when ok. */
function openInFolder(
  folder: Folder,
  name: string,
  access: FileAccess,
  mode: number,
  input: string,
  sub: string,
): Confined<{ file: InsideFile }> {
  let opened: { fd: number; created: boolean };
  try {
    opened = openFinal(folder, name, access, mode);
  } catch (err) {
    const code = codeOf(err);
    // O_NOFOLLOW met a link
    if (code === 'ELOOP') return linkRefusal(input, sub);
    if (code === 'EEXIST' && access !== 'new')
      return refusal(
        'moved',
        `${input} kept changing while it was being created; nothing was written. Try again.`,
      );
    throw err;
  }
  const { fd, created } = opened;
  let kept = false;
  try {
    const stat = fs.fstatSync(fd);
    if (stat.isDirectory()) throw errnoError('EISDIR', `${input} is a folder, not a file.`);
    if (!stat.isFile()) {
      return refusal(
        'special',
        `${input} is not a regular file (a FIFO, socket or device); the file tools only open regular files.`,
      );
    }
    const use: PathUse = access === 'read' ? 'read' : 'write';
    const place = confirmPlace(fd, path.join(folder.path, name), folder, use, input);
    if (!place.ok) {
      // what this open created where it may not be is taken back
      // (through the folder's descriptor only: by path it could be another file by now)
      if (created && folder.viaProc) fs.rmSync(entryPath(folder, name), { force: true });
      return place;
    }
    kept = true;
    return { ok: true, file: { fd, relative: place.relative, size: stat.size, created } };
  } finally {
    if (!kept) fs.closeSync(fd);
  }
}

/**
 * The components of `input` below the project's real root: resolved by `resolveInside`, or for a
 * literal path checked to be one (no empty, `.` or `..` component; not inside `.git` for a write).
 */
function located(
  root: string,
  input: string,
  use: PathUse,
  options: PathOptions,
): Confined<{ parts: string[] }> {
  if (!options.literal) {
    const resolved = resolveInside(root, input, use);
    if (!resolved.ok) return refusal('path', resolved.error);
    return { ok: true, parts: resolved.relative === '.' ? [] : resolved.relative.split(path.sep) };
  }
  const parts = input === '.' ? [] : input.split(path.sep);
  if (path.isAbsolute(input) || parts.some((p) => p === '' || p === '.' || p === '..'))
    return refusal('path', `${input} is not a path below the project folder.`);
  if (use === 'write' && parts.includes('.git'))
    return refusal('path', `${input} is inside a .git folder; the repository's own files cannot be written.`);
  return { ok: true, parts };
}

/**
 * Opens the project file `input` without following any link at the moment of the open, and
 * refuses it if it is not a regular file or is no longer inside the project. Ordinary failures
 * (ENOENT, EISDIR for a folder, ENOTDIR, EACCES) are thrown as the errno errors they are. The
 * caller closes the file's `fd`.
 */
export function openInside(
  root: string,
  input: string,
  access: FileAccess,
  options: PathOptions & { readonly mode?: number } = {},
): Confined<{ file: InsideFile }> {
  const where = located(root, input, access === 'read' ? 'read' : 'write', options);
  if (!where.ok) return where;
  const name = where.parts.pop();
  if (name === undefined) throw errnoError('EISDIR', `${input} is a folder, not a file.`);
  const folder = descend(root, where.parts, access === 'create' || access === 'new', input);
  if ('ok' in folder) return folder;
  try {
    return openInFolder(folder, name, access, options.mode ?? 0o666, input, [...where.parts, name].join('/'));
  } finally {
    fs.closeSync(folder.fd);
  }
}

/** Runs `use` on the project file `input` opened by `openInside`, and closes it. */
export async function withFileInside<T>(
  root: string,
  input: string,
  access: FileAccess,
  use: (file: InsideFile) => Promise<T>,
  options: PathOptions = {},
): Promise<Confined<{ value: T }>> {
  const opened = openInside(root, input, access, options);
  if (!opened.ok) return opened;
  try {
    return { ok: true, value: await use(opened.file) };
  } finally {
    fs.closeSync(opened.file.fd);
  }
}

/** Reads into `buffer` from `position` of an open file; the count read (0 at its end). */
export async function readAt(file: InsideFile, buffer: Buffer, position: number): Promise<number> {
  return (await readFd(file.fd, buffer, 0, buffer.length, position)).bytesRead;
}

/**
 * The content of an open file from its start, at most `limit` bytes: a file that grows after its
 * size was taken cannot make the worker read (and hold) more than it meant to.
 */
export async function readContent(file: InsideFile, limit = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let done = 0;
  // first as much as the file held when it was opened, and one byte more to see it grew
  let want = Math.min(limit, file.size + 1);
  while (want > 0) {
    const chunk = Buffer.allocUnsafe(want);
    const read = await readAt(file, chunk, done);
    chunks.push(chunk.subarray(0, read));
    done += read;
    // a regular file reads short only at its end
    if (read < want) break;
    want = Math.min(READ_CHUNK_BYTES, limit - done);
  }
  return Buffer.concat(chunks, done);
}

/** The whole content of the project file `input`, read through the checked descriptor. */
export async function readFileInside(
  root: string,
  input: string,
  access: 'read' | 'check' = 'read',
  options: PathOptions = {},
): Promise<Confined<{ content: Buffer; relative: string }>> {
  const read = await withFileInside(
    root,
    input,
    access,
    async (file) => ({ content: await readContent(file), relative: file.relative }),
    options,
  );
  return read.ok ? { ok: true, ...read.value } : read;
}

/** Replaces what an open file holds with `bytes`. */
export async function overwrite(file: InsideFile, bytes: Buffer): Promise<void> {
  await truncateFd(file.fd, 0);
  for (let done = 0; done < bytes.length;) {
    const { bytesWritten } = await writeFd(file.fd, bytes, done, bytes.length - done, done);
    done += bytesWritten;
  }
}

/**
 * Creates or replaces the project file `input` with `content` (missing folders created one at a
 * time, each checked), written through the checked descriptor. `mode` applies to a new file, and
 * to an existing one when given.
 */
export async function writeFileInside(
  root: string,
  input: string,
  content: string | Buffer,
  options: PathOptions & { readonly mode?: number } = {},
): Promise<Confined<{ relative: string; created: boolean; bytes: number }>> {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  const written = await withFileInside(
    root,
    input,
    'create',
    async (file) => {
      if (options.mode !== undefined && !file.created) await chmodFd(file.fd, options.mode);
      await overwrite(file, bytes);
      return { relative: file.relative, created: file.created, bytes: bytes.length };
    },
    options,
  );
  return written.ok ? { ok: true, ...written.value } : written;
}

/**
 * Makes the project folder `input` exist: it and missing folders above it are created one at a
 * time, and none of them may be a link. Something else in the way fails as its errno (ENOTDIR).
 */
export function makeFolderInside(
  root: string,
  input: string,
  options: PathOptions = {},
): Confined<{ relative: string }> {
  const where = located(root, input, 'write', options);
  if (!where.ok) return where;
  const folder = descend(root, where.parts, true, input);
  if ('ok' in folder) return folder;
  try {
    return confirmPlace(folder.fd, folder.path, folder, 'write', input);
  } finally {
    fs.closeSync(folder.fd);
  }
}

function kindOf(entry: Dirent): EntryKind {
  if (entry.isDirectory()) return 'folder';
  if (entry.isFile()) return 'file';
  if (entry.isSymbolicLink()) return 'link';
  return 'other';
}

/**
 * The entries of the project folder `input` in name order, listed through a descriptor opened
 * like `openInside` opens files; symlinks are listed with their target text, never followed.
 * With `sizes`, regular files come with their size (an lstat through the folder's descriptor).
 */
export async function listFolderInside(
  root: string,
  input: string,
  options: PathOptions & { readonly sizes?: boolean } = {},
): Promise<Confined<{ entries: FolderEntry[]; relative: string }>> {
  const where = located(root, input, 'read', options);
  if (!where.ok) return where;
  const folder = descend(root, where.parts, false, input);
  if ('ok' in folder) return folder;
  try {
    const place = confirmPlace(folder.fd, folder.path, folder, 'read', input);
    if (!place.ok) return place;
    const listed = fs.readdirSync(folder.viaProc ? `${PROC_FD}/${folder.fd}` : folder.path, {
      withFileTypes: true,
    });
    listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const entries = listed.map((entry): FolderEntry => {
      const kind = kindOf(entry);
      if (kind === 'file' && options.sizes) {
        // lstat: an entry swapped for a link since the listing gives the link's own size
        const stat = fs.lstatSync(entryPath(folder, entry.name), { throwIfNoEntry: false });
        return { name: entry.name, kind, size: stat?.isFile() ? stat.size : 0 };
      }
      if (kind !== 'link') return { name: entry.name, kind };
      let linkTarget = '?';
      try {
        linkTarget = fs.readlinkSync(entryPath(folder, entry.name));
      } catch {
        // gone meanwhile
      }
      return { name: entry.name, kind, linkTarget };
    });
    // without /proc the listing went by path: it counts only if the path still leads there
    if (!folder.viaProc && !trailIntact(folder.trail))
      return refusal('moved', `${input} changed while it was being listed; try again.`);
    return { ok: true, entries, relative: place.relative };
  } finally {
    fs.closeSync(folder.fd);
  }
}

/**
 * Puts `content` at `file` of the working tree (a `/`-separated path as git names it), replacing
 * whatever is there, a symlink included, without following one: no component of the path may be
 * a link (git never writes below one), and missing folders are created one at a time.
 */
export async function replaceInside(
  root: string,
  file: string,
  content: TreeContent,
): Promise<Confined<{ relative: string }>> {
  const where = located(root, file.split('/').join(path.sep), 'write', { literal: true });
  if (!where.ok) return where;
  const name = where.parts.pop();
  if (name === undefined) return refusal('path', 'The path of the working tree is empty.');
  let folder: Folder | Refusal;
  try {
    folder = descend(root, where.parts, content !== null, file);
  } catch (err) {
    // deleting below a folder that is not there: nothing to delete
    if (content === null && codeOf(err) === 'ENOENT') return { ok: true, relative: file };
    throw err;
  }
  if ('ok' in folder) return folder;
  try {
    const place = confirmPlace(folder.fd, folder.path, folder, 'write', file);
    if (!place.ok) return place;
    const at = entryPath(folder, name);
    // unlink, not rm: a link there is removed itself, never what it points to
    try {
      fs.unlinkSync(at);
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw err;
    }
    if (content?.kind === 'link') fs.symlinkSync(content.target, at);
    else if (content?.kind === 'file') {
      const opened = openInFolder(folder, name, 'create', content.mode, file, file);
      if (!opened.ok) return opened;
      try {
        await overwrite(opened.file, content.bytes);
      } finally {
        fs.closeSync(opened.file.fd);
      }
    }
    return { ok: true, relative: [...where.parts, name].join(path.sep) };
  } finally {
    fs.closeSync(folder.fd);
  }
}
