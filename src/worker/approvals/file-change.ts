// What a `write`, `edit` or `send_file` would touch, read from disk for its approval card: the
// unified diff against the file as it is now, or the size of the file to send.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lineEndingsOf, occurrences } from '../../agent/tools/edit-match';
import { runGit } from '../../workspace/git-runner';
import { resolveInside } from '../../workspace/paths';
import type { FileChangeView, FileView } from './card';

/** A file larger than this gets no diff on its card (the call itself may still be allowed). */
export const MAX_DIFF_SOURCE_BYTES = 2 * 1024 * 1024;

function field(args: unknown, name: string): string | undefined {
  const value =
    typeof args === 'object' && args !== null ? (args as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}

async function readCurrent(file: string): Promise<{ content: string | null; note?: string }> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return { content: null, note: 'The path is not a regular file.' };
    if (stat.size > MAX_DIFF_SOURCE_BYTES)
      return { content: null, note: `The file has ${stat.size} bytes: too large to show a diff.` };
    return { content: await fs.readFile(file, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { content: '' };
    return { content: null, note: `The file cannot be read (${code ?? 'error'}).` };
  }
}

/**
 * The unified diff of `before` → `after` for `relative` (a/ and b/ headers, /dev/null for a new
 * file), made by `git diff --no-index` on two temporary files; '' when they are the same.
 */
export async function unifiedDiff(relative: string, before: string | null, after: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autonous-card-'));
  try {
    const b = path.join(dir, 'b');
    await fs.writeFile(b, after);
    let a = '/dev/null';
    if (before !== null) {
      a = path.join(dir, 'a');
      await fs.writeFile(a, before);
    }
    const out = await runGit(dir, ['diff', '--no-index', '--no-color', '--no-ext-diff', '--', a, b], {
      okCodes: [1],
    });
    const lines = out.stdout.toString('utf8').split('\n');
    const hunk = lines.findIndex((l) => l.startsWith('@@') || l.startsWith('Binary files'));
    if (hunk < 0) return '';
    const header = [before === null ? '--- /dev/null' : `--- a/${relative}`, `+++ b/${relative}`];
    return [...header, ...lines.slice(hunk)].join('\n').replace(/\n+$/, '\n');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** What a `write` or `edit` call would change in `root`, for its card. */
export async function describeFileChange(root: string, tool: string, args: unknown): Promise<FileChangeView> {
  const input = field(args, 'path');
  if (input === undefined) return { diff: null, note: 'The call names no path.' };
  const resolved = resolveInside(root, input, 'write');
  if (!resolved.ok) return { diff: null, note: `${resolved.error} (the call will fail).` };
  const current = await readCurrent(resolved.path);
  if (current.content === null) return { diff: null, ...(current.note ? { note: current.note } : {}) };
  const exists =
    current.content !== '' ||
    (await fs.stat(resolved.path).then(
      () => true,
      () => false,
    ));
  if (tool === 'write') {
    const content = field(args, 'content') ?? '';
    return { diff: await unifiedDiff(resolved.relative, exists ? current.content : null, content) };
  }
  const oldText = field(args, 'old_text') ?? '';
  const newText = field(args, 'new_text') ?? '';
  if (!exists) return { diff: null, note: `${input} does not exist: the edit will fail.` };
  const texts = lineEndingsOf(current.content, oldText, newText);
  const found = oldText === '' ? [] : occurrences(current.content, texts.old);
  if (found.length !== 1) {
    return {
      diff: null,
      note: `old_text matches ${found.length} times in ${input}: the edit will fail and change nothing.`,
    };
  }
  const at = found[0] as number;
  const updated = current.content.slice(0, at) + texts.new + current.content.slice(at + texts.old.length);
  return { diff: await unifiedDiff(resolved.relative, current.content, updated) };
}

/** The file a `send_file` call would send, for its card. */
export async function describeFileToSend(root: string, args: unknown): Promise<FileView> {
  const input = field(args, 'path');
  if (input === undefined) return { size: null, note: 'The call names no path.' };
  const resolved = resolveInside(root, input, 'read');
  if (!resolved.ok) return { size: null, note: `${resolved.error} (the call will fail).` };
  try {
    const stat = await fs.stat(resolved.path);
    return stat.isFile() ? { size: stat.size } : { size: null, note: `${input} is not a regular file.` };
  } catch (err) {
    return {
      size: null,
      note: `${input} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`,
    };
  }
}
