// Walking a project folder for `find` and `grep`: in name order, without following symlinked
// folders (a link can point out of the project or into a loop), skipping `.git` and
// `node_modules` below the starting folder, and bounded so a huge tree cannot stall a step.
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Folders not descended into (unless the walk starts inside one). */
export const SKIPPED_FOLDERS: readonly string[] = ['.git', 'node_modules'];

/** Entries looked at before a walk stops. */
export const MAX_WALK_ENTRIES = 50_000;

/** One entry of a walk. */
export interface WalkEntry {
  readonly absolute: string;
  /** Relative to the folder the walk started in, `/`-separated. */
  readonly relative: string;
  readonly isDirectory: boolean;
}

/** Why a walk ended: it saw everything, hit MAX_WALK_ENTRIES, or its visitor said stop. */
export type WalkEnd = 'done' | 'limit' | 'stopped';

/** Visits every entry below `start` in depth-first name order; `visit` returns false to stop. */
export async function walk(
  start: string,
  visit: (entry: WalkEntry) => boolean | void,
  signal?: AbortSignal,
): Promise<WalkEnd> {
  let entries = 0;
  const stack: string[] = [''];
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const relDir = stack.pop() as string;
    let children: Dirent[];
    try {
      children = await fs.readdir(path.join(start, relDir), { withFileTypes: true });
    } catch {
      continue; // unreadable or gone meanwhile
    }
    children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subfolders: string[] = [];
    for (const child of children) {
      if (++entries > MAX_WALK_ENTRIES) return 'limit';
      const relative = relDir === '' ? child.name : `${relDir}/${child.name}`;
      const isDirectory = child.isDirectory();
      if (visit({ absolute: path.join(start, relative), relative, isDirectory }) === false) {
        return 'stopped';
      }
      if (isDirectory && !SKIPPED_FOLDERS.includes(child.name)) subfolders.push(relative);
    }
    for (let i = subfolders.length - 1; i >= 0; i--) stack.push(subfolders[i] as string);
  }
  return 'done';
}
