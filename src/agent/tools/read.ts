// `read {path, offset?, limit?}`: a text file as numbered lines, a page at a time.
import { StringDecoder } from 'node:string_decoder';
import { readAt, withFileInside, type InsideFile } from '../../workspace/safe-fs';
import { describeByPath } from '../describe-call';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { noRisks } from './risk';
import { argsObject, failure, fsFailure, guarded, optionalInteger, requiredString, success } from './args';

/** A page of `read`: 2000 lines or 50 KB, enough to read a file without flooding the context. */
export const READ_MAX_LINES = 2000;
export const READ_MAX_BYTES = 50 * 1024;
/** A longer line is cut (a minified file would otherwise fill the page with one line). */
export const READ_MAX_LINE_CHARS = 2000;

/** Bytes looked at for a NUL to call a file binary (as git and grep do). */
export const BINARY_SNIFF_BYTES = 8000;

/** Bytes read at a time while paging through a file. */
const PAGE_CHUNK_BYTES = 64 * 1024;

/** Whether the start of the open file holds a NUL byte. */
export async function looksBinary(file: InsideFile): Promise<boolean> {
  const buffer = Buffer.alloc(BINARY_SNIFF_BYTES);
  const read = await readAt(file, buffer, 0);
  return buffer.subarray(0, read).includes(0);
}

/**
 * The lines of an open file, split as readline splits them (at \n, \r\n or a lone \r), read a
 * chunk at a time only as they are asked for: no read is left running once the caller stops
 * asking, so the descriptor can be closed right after.
 */
async function* linesOf(file: InsideFile): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  const chunk = Buffer.allocUnsafe(PAGE_CHUNK_BYTES);
  let rest = '';
  for (let position = 0; ;) {
    const read = await readAt(file, chunk, position);
    position += read;
    const atEnd = read === 0;
    // what is left of the last chunk holds no line break, but for a \r that may start a \r\n
    const breaks = /\r\n|\n|\r/g;
    breaks.lastIndex = Math.max(0, rest.length - 1);
    rest += atEnd ? decoder.end() : decoder.write(chunk.subarray(0, read));
    let start = 0;
    for (let found = breaks.exec(rest); found !== null; found = breaks.exec(rest)) {
      if (!atEnd && found[0] === '\r' && breaks.lastIndex === rest.length) break;
      yield rest.slice(start, found.index);
      start = breaks.lastIndex;
    }
    rest = rest.slice(start);
    if (atEnd) {
      if (rest !== '') yield rest;
      return;
    }
  }
}

async function readPage(
  file: InsideFile,
  offset: number,
  limit: number,
): Promise<{ lines: string[]; more: boolean; seen: number }> {
  const lines: string[] = [];
  let bytes = 0;
  let seen = 0;
  let more = false;
  for await (const line of linesOf(file)) {
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
  return { lines, more, seen };
}

async function run(rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  const args = argsObject(rawArgs);
  const input = requiredString(args, 'path');
  const offset = optionalInteger(args, 'offset', 1) ?? 1;
  const limit = Math.min(optionalInteger(args, 'limit', 1) ?? READ_MAX_LINES, READ_MAX_LINES);
  let opened;
  try {
    opened = await withFileInside(ctx.root, input, 'read', async (file) => {
      if (file.size === 0) return 'empty' as const;
      if (await looksBinary(file)) return { binary: file.size };
      return readPage(file, offset, limit);
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR')
      return failure(`${input} is a folder; use ls to list it.`);
    return fsFailure(input, err);
  }
  if (!opened.ok) return failure(opened.error);
  const page = opened.value;
  if (page === 'empty') return success(`${input} is empty.`);
  if ('binary' in page)
    return failure(`${input} looks like a binary file (${page.binary} bytes); read shows text files only.`);
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
  kind: 'read',
  resume: 'rerun',
  describe: (args) => describeByPath('read', args),
  risks: noRisks,
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
};
