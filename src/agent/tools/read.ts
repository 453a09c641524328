// `read {path, offset?, limit?}`: a text file as numbered lines, a page at a time.
import fs from 'node:fs';
import readline from 'node:readline';
import { resolveInside } from '../../workspace/paths';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { argsObject, failure, fsFailure, guarded, optionalInteger, requiredString, success } from './args';

/** A page of `read` (issue 10: 2000 lines / 50 KB). */
export const READ_MAX_LINES = 2000;
export const READ_MAX_BYTES = 50 * 1024;
/** A longer line is cut (a minified file would otherwise fill the page with one line). */
export const READ_MAX_LINE_CHARS = 2000;

/** Bytes looked at for a NUL to call a file binary (as git and grep do). */
export const BINARY_SNIFF_BYTES = 8000;

/** Whether the start of the file holds a NUL byte. */
export function looksBinary(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(BINARY_SNIFF_BYTES);
    const read = fs.readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, read).includes(0);
  } finally {
    fs.closeSync(fd);
  }
}

async function readPage(
  file: string,
  offset: number,
  limit: number,
): Promise<{ lines: string[]; more: boolean; seen: number }> {
  const stream = fs.createReadStream(file, { encoding: 'utf8' });
  const reader = readline.createInterface({ input: stream, crlfDelay: Infinity });
  const lines: string[] = [];
  let bytes = 0;
  let seen = 0;
  let more = false;
  try {
    for await (const line of reader) {
      seen++;
      if (seen < offset) continue;
      const shown =
        line.length > READ_MAX_LINE_CHARS ? `${line.slice(0, READ_MAX_LINE_CHARS)}… [line cut]` : line;
      const cost = Buffer.byteLength(shown) + 8;
      if (lines.length >= limit || (lines.length > 0 && bytes + cost > READ_MAX_BYTES)) {
        more = true;
        break;
      }
      lines.push(shown);
      bytes += cost;
    }
  } finally {
    reader.close();
    stream.destroy();
  }
  return { lines, more, seen };
}

async function run(rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  const args = argsObject(rawArgs);
  const input = requiredString(args, 'path');
  const offset = optionalInteger(args, 'offset', 1) ?? 1;
  const limit = Math.min(optionalInteger(args, 'limit', 1) ?? READ_MAX_LINES, READ_MAX_LINES);
  const resolved = resolveInside(ctx.root, input, 'read');
  if (!resolved.ok) return failure(resolved.error);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(resolved.path);
  } catch (err) {
    return fsFailure(input, err);
  }
  if (stat.isDirectory()) return failure(`${input} is a folder; use ls to list it.`);
  if (!stat.isFile()) return failure(`${input} is not a regular file.`);
  if (stat.size === 0) return success(`${input} is empty.`);
  if (looksBinary(resolved.path))
    return failure(`${input} looks like a binary file (${stat.size} bytes); read shows text files only.`);
  const page = await readPage(resolved.path, offset, limit);
  if (page.lines.length === 0) {
    return failure(`${input} has ${page.seen} lines; offset=${offset} is past its end.`);
  }
  const width = String(offset + page.lines.length - 1).length;
  const body = page.lines.map((line, i) => `${String(offset + i).padStart(width)}\t${line}`).join('\n');
  const last = offset + page.lines.length - 1;
  const footer = page.more
    ? `\n[lines ${offset}-${last} shown; the file goes on: read it with offset=${last + 1} to continue]`
    : '';
  return success(body + footer);
}

/** The `read` tool. */
export const readTool: Tool = {
  name: 'read',
  description:
    'Read a text file of the project as numbered lines (at most 2000 lines or 50 KB at a time; the last line says which offset continues).',
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'File path, relative to the project folder.' },
      offset: { type: 'integer', minimum: 1, description: 'First line to show (1-based; default 1).' },
      limit: {
        type: 'integer',
        minimum: 1,
        maximum: READ_MAX_LINES,
        description: 'Most lines to show (default 2000).',
      },
    },
    required: ['path'],
    additionalProperties: false,
  },
  readOnly: true,
  resume: 'rerun',
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
};
