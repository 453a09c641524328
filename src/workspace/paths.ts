// Path confinement: every path a tool takes is resolved the way the kernel would resolve it
// (symlinks followed, also dangling ones, also for parts that do not exist yet) and must land
// inside the project's real path. A lexical check alone would let `link/../../x` or a symlink
// planted by a command walk out of the project.
import fs from 'node:fs';
import path from 'node:path';

/** What a resolved tool path is for: a `write`/`edit` target may not be inside `.git`. */
export type PathUse = 'read' | 'write';

/** A path inside the project, or the sentence saying why it was refused. */
export type ResolvedPath =
  | {
      readonly ok: true;
      /** Real absolute path (symlinks followed as far as the path exists). */
      readonly path: string;
      /** The same path relative to the project's real root ('.' for the root itself). */
      readonly relative: string;
    }
  | { readonly ok: false; readonly error: string };

/** Symlink hops before giving up, as the kernel's ELOOP limit (40). */
const MAX_LINK_HOPS = 40;

class LinkLoopError extends Error {}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The real path `abs` has or would have once created: existing parts through realpath, a
 * dangling symlink through its target (writing to it would create the target), missing parts
 * appended as they are.
 */
function realpathLoose(abs: string, hops: number): string {
  if (hops > MAX_LINK_HOPS) throw new LinkLoopError();
  try {
    return fs.realpathSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new LinkLoopError();
    if (!isMissing(err)) throw err;
  }
  const parent = path.dirname(abs);
  if (parent === abs) return abs;
  const realParent = realpathLoose(parent, hops);
  const candidate = path.join(realParent, path.basename(abs));
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(candidate);
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  if (stat?.isSymbolicLink()) {
    const target = fs.readlinkSync(candidate);
    return realpathLoose(path.resolve(realParent, target), hops + 1);
  }
  return candidate;
}

/** Whether `child` is `parent` or below it (both real, absolute). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * Resolves `input` (relative to the project root, or absolute) to a real path inside `root`, or
 * says why not: outside the project, through a symlink that points out, a symlink loop, or for
 * `write` a target inside a `.git` folder (the repository's own files are git's, not the model's).
 */
export function resolveInside(root: string, input: string, use: PathUse = 'read'): ResolvedPath {
  if (typeof input !== 'string' || input.trim() === '') return { ok: false, error: 'The path is empty.' };
  if (input.includes('\0')) return { ok: false, error: 'The path contains a NUL character.' };
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    return { ok: false, error: `The project folder ${root} does not exist.` };
  }
  let real: string;
  try {
    real = realpathLoose(path.resolve(realRoot, input), 0);
  } catch (err) {
    if (err instanceof LinkLoopError)
      return { ok: false, error: `${input}: too many levels of symbolic links.` };
    return {
      ok: false,
      error: `${input}: cannot be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'}).`,
    };
  }
  if (!isInside(realRoot, real)) {
    return {
      ok: false,
      error: `${input} is outside the project folder (it resolves to ${real}); only paths inside the project can be used.`,
    };
  }
  const relative = path.relative(realRoot, real) || '.';
  if (use === 'write' && relative.split(path.sep).includes('.git')) {
    return {
      ok: false,
      error: `${input} is inside a .git folder; the repository's own files cannot be written or edited.`,
    };
  }
  return { ok: true, path: real, relative };
}
