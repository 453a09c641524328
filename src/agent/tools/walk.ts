// Walking a project folder for `find` and `grep`: in name order, without following symlinked
// folders (a link can point out of the project or into a loop), skipping `.git` and
// `node_modules` below the starting folder, and bounded so a huge tree cannot stall a step.
// Each folder is listed through a descriptor opened from the project's root without following a
// link, so a folder swapped for a link after its parent was listed is not listed through it.
import path from 'node:path';
import { listFolderInside, type EntryKind, type FolderEntry } from '../../workspace/safe-fs';

/** Folders not descended into (unless the walk starts inside one). */
export const SKIPPED_FOLDERS: readonly string[] = ['.git', 'node_modules'];

/** Entries looked at before a walk stops. */
export const MAX_WALK_ENTRIES = 50_000;

/** One entry of a walk. */
export interface WalkEntry {
  /** Relative to the project's root (as `resolveInside` gives it). */
  readonly inProject: string;
  /** Relative to the folder the walk started in, `/`-separated. */
  readonly relative: string;
  /** As the folder lists it: a symlink is a `link`, whatever it points to. */
  readonly kind: EntryKind;
}

/** Why a walk ended: it saw everything, hit MAX_WALK_ENTRIES, or its visitor said stop. */
export type WalkEnd = 'done' | 'limit' | 'stopped';

/**
 * Visits every entry below `start` (a folder of the project `root`, relative to its real root as
 * `resolveInside` gives it) in depth-first name order; `visit` returns false to stop.
 */
export async function walk(
  root: string,
  start: string,
  visit: (entry: WalkEntry) => boolean | void,
  signal?: AbortSignal,
): Promise<WalkEnd> {
  let entries = 0;
  const stack: string[] = [''];
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const relDir = stack.pop() as string;
    const inProject = (relative: string): string => path.join(start, relative);
    let children: readonly FolderEntry[];
    try {
      const listed = await listFolderInside(root, inProject(relDir), { literal: true });
      if (!listed.ok) continue; // swapped for a link out meanwhile: not walked into
      children = listed.entries;
    } catch {
      continue; // unreadable or gone meanwhile
    }
    const subfolders: string[] = [];
    for (const child of children) {
      if (++entries > MAX_WALK_ENTRIES) return 'limit';
      const relative = relDir === '' ? child.name : `${relDir}/${child.name}`;
      if (visit({ inProject: inProject(relative), relative, kind: child.kind }) === false) return 'stopped';
      if (child.kind === 'folder' && !SKIPPED_FOLDERS.includes(child.name)) subfolders.push(relative);
    }
    for (let i = subfolders.length - 1; i >= 0; i--) stack.push(subfolders[i] as string);
  }
  return 'done';
}
