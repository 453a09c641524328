// `grep {pattern, path?, glob?}`: lines of the project's text files that match a JavaScript
// regular expression. The matching runs in a worker thread with a time limit: a pattern the
// model writes can backtrack catastrophically, and the worker's event loop (its heartbeat) must
// not stall on it.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { resolveInside } from '../../workspace/paths';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { argsObject, failure, fsFailure, guarded, optionalString, requiredString, success } from './args';
import { globToRegExp, matchesGlob } from './glob';
import { BINARY_SNIFF_BYTES } from './read';
import { walk } from './walk';

export const GREP_MAX_MATCHES = 100;
export const GREP_MAX_LINE_CHARS = 500;
/** Larger files are skipped (logs, data, bundles) and counted in the result. */
export const GREP_MAX_FILE_BYTES = 1024 * 1024;
export const GREP_TIMEOUT_MS = 30_000;

interface SearchJob {
  readonly files: readonly { readonly abs: string; readonly rel: string }[];
  readonly pattern: string;
  readonly maxMatches: number;
  readonly maxChars: number;
  readonly maxFileBytes: number;
  readonly sniffBytes: number;
}

interface SearchOutcome {
  readonly matches: string[];
  readonly more: boolean;
  readonly large: number;
  readonly binary: number;
}

// Plain JavaScript, run with `eval: true` so that it works from the sources (ts-jest) and from
// dist/ alike; it only reads the files it is given.
const SEARCH_SOURCE = `
const { parentPort, workerData: job } = require('node:worker_threads');
const fs = require('node:fs');
const regex = new RegExp(job.pattern);
const matches = [];
let more = false, large = 0, binary = 0;
outer: for (const file of job.files) {
  let buffer;
  try {
    if (fs.statSync(file.abs).size > job.maxFileBytes) { large++; continue; }
    buffer = fs.readFileSync(file.abs);
  } catch { continue; }
  if (buffer.subarray(0, job.sniffBytes).includes(0)) { binary++; continue; }
  const lines = buffer.toString('utf8').split(/\\r?\\n/);
  for (let i = 0; i < lines.length; i++) {
    if (!regex.test(lines[i])) continue;
    if (matches.length >= job.maxMatches) { more = true; break outer; }
    const line = lines[i].length > job.maxChars ? lines[i].slice(0, job.maxChars) + '…' : lines[i];
    matches.push(file.rel + ':' + (i + 1) + ': ' + line);
  }
}
parentPort.postMessage({ matches, more, large, binary });
`;

function search(job: SearchJob, signal: AbortSignal): Promise<SearchOutcome | 'timeout'> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SEARCH_SOURCE, { eval: true, workerData: job });
    const stop = (): void => void worker.terminate();
    const timer = setTimeout(() => {
      stop();
      resolve('timeout');
    }, GREP_TIMEOUT_MS);
    const onAbort = (): void => {
      clearTimeout(timer);
      stop();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    worker.once('message', (outcome: SearchOutcome) => {
      done();
      stop();
      resolve(outcome);
    });
    worker.once('error', (err) => {
      done();
      reject(err);
    });
  });
}

async function run(rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  const args = argsObject(rawArgs);
  const pattern = requiredString(args, 'pattern');
  const input = optionalString(args, 'path') ?? '.';
  const glob = optionalString(args, 'glob');
  try {
    new RegExp(pattern);
  } catch (err) {
    return failure(`The pattern is not a valid JavaScript regular expression: ${(err as Error).message}`);
  }
  const resolved = resolveInside(ctx.root, input, 'read');
  if (!resolved.ok) return failure(resolved.error);
  const stat = await fs.stat(resolved.path).catch((err: unknown) => err as Error);
  if (stat instanceof Error) return fsFailure(input, stat);
  const files: { abs: string; rel: string }[] = [];
  let walkEnd: string = 'done';
  if (stat.isFile()) files.push({ abs: resolved.path, rel: resolved.relative });
  else {
    const globRegExp = glob ? globToRegExp(glob) : null;
    const globHasSlash = glob?.includes('/') ?? false;
    walkEnd = await walk(
      resolved.path,
      (entry) => {
        if (entry.isDirectory) return;
        if (globRegExp && !matchesGlob(globRegExp, globHasSlash, entry.relative)) return;
        files.push({ abs: entry.absolute, rel: path.relative(ctx.root, entry.absolute) });
      },
      ctx.signal,
    );
  }
  const outcome = await search(
    {
      files,
      pattern,
      maxMatches: GREP_MAX_MATCHES,
      maxChars: GREP_MAX_LINE_CHARS,
      maxFileBytes: GREP_MAX_FILE_BYTES,
      sniffBytes: BINARY_SNIFF_BYTES,
    },
    ctx.signal,
  );
  if (outcome === 'timeout') {
    return failure(
      `grep took longer than ${GREP_TIMEOUT_MS / 1000} s and was stopped; use a simpler pattern or a narrower path or glob.`,
    );
  }
  const notes: string[] = [];
  if (outcome.more)
    notes.push(`[only the first ${GREP_MAX_MATCHES} matches are shown; narrow the pattern, path or glob]`);
  if (walkEnd === 'limit')
    notes.push('[the folder has too many entries; not every file was searched: give a narrower path]');
  if (outcome.large > 0)
    notes.push(`[${outcome.large} files over ${GREP_MAX_FILE_BYTES / 1024 / 1024} MB were skipped]`);
  if (outcome.binary > 0) notes.push(`[${outcome.binary} binary files were skipped]`);
  const head =
    outcome.matches.length === 0 ? `No match in ${files.length} files.` : outcome.matches.join('\n');
  return success([head, ...notes].join('\n'));
}

/** The `grep` tool. */
export const grepTool: Tool = {
  name: 'grep',
  description:
    `Search the project's text files for lines matching a JavaScript regular expression; prints path:line: text (at most ${GREP_MAX_MATCHES} matches, lines cut at ${GREP_MAX_LINE_CHARS} characters). ` +
    'Skips .git and node_modules (unless path is inside them), binary files and files over 1 MB.',
  parameters: {
    type: 'object',
    properties: {
      pattern: {
        type: 'string',
        description: 'A JavaScript regular expression, e.g. "function \\\\w+Tool".',
      },
      path: {
        type: 'string',
        description: 'File or folder to search, relative to the project (default: all of it).',
      },
      glob: {
        type: 'string',
        description: 'Only files whose name (or, with a /, relative path) matches, e.g. "*.ts".',
      },
    },
    required: ['pattern'],
    additionalProperties: false,
  },
  readOnly: true,
  resume: 'rerun',
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
};
