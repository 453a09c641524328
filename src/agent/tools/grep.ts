// `grep {pattern, path?, glob?}`: lines of the project's text files that match a JavaScript
// regular expression. The worker reads the files itself, each through a descriptor opened inside
// the project without following a link (see safe-fs): a symlink is never followed, and one that
// points out of the project is skipped and counted, so a link a command planted cannot show the
// worker's own files. The matching runs in a worker thread with a time limit: a pattern the model
// writes can backtrack catastrophically, and the worker's event loop (its heartbeat) must not
// stall on it. The thread only matches the text it is handed; it opens nothing.
import fs from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { resolveInside } from '../../workspace/paths';
import { readContent, withFileInside } from '../../workspace/safe-fs';
import { describeByPattern } from '../describe-call';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { noRisks } from './risk';
import { argsObject, failure, fsFailure, guarded, optionalString, requiredString, success } from './args';
import { globToRegExp, matchesGlob } from './glob';
import { BINARY_SNIFF_BYTES } from './read';
import { walk, type WalkEnd } from './walk';

export const GREP_MAX_MATCHES = 100;
export const GREP_MAX_LINE_CHARS = 500;
/** Larger files are skipped (logs, data, bundles) and counted in the result. */
export const GREP_MAX_FILE_BYTES = 1024 * 1024;
export const GREP_TIMEOUT_MS = 30_000;

/** Text handed to the matching thread at a time: few round trips, bounded copies. */
const BATCH_CHARS = 2 * 1024 * 1024;
const BATCH_FILES = 500;

/** A file's text as the thread gets it, with the path its matches are printed with. */
interface FileText {
  readonly rel: string;
  readonly text: string;
}

/** The thread's answer for a batch: at most `budget` matches, and whether there were more. */
interface BatchMatches {
  readonly matches: string[];
  readonly more: boolean;
}

// Plain JavaScript, run with `eval: true` so that it works from the sources (ts-jest) and from
// dist/ alike.
const MATCH_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const regex = new RegExp(workerData.pattern);
parentPort.on('message', ({ texts, budget }) => {
  const matches = [];
  let more = false;
  outer: for (const { rel, text } of texts) {
    const lines = text.split(/\\r?\\n/);
    for (let i = 0; i < lines.length; i++) {
      if (!regex.test(lines[i])) continue;
      if (matches.length >= budget) { more = true; break outer; }
      const line = lines[i].length > workerData.maxChars ? lines[i].slice(0, workerData.maxChars) + '…' : lines[i];
      matches.push(rel + ':' + (i + 1) + ': ' + line);
    }
  }
  parentPort.postMessage({ matches, more });
});
`;

/** The matching thread: `match` answers a batch, or 'timeout' past the deadline; `stop` ends it. */
interface Matcher {
  match(texts: readonly FileText[], budget: number): Promise<BatchMatches | 'timeout'>;
  stop(): void;
}

function startMatcher(pattern: string, deadline: number, signal: AbortSignal): Matcher {
  const worker = new Worker(MATCH_SOURCE, {
    eval: true,
    workerData: { pattern, maxChars: GREP_MAX_LINE_CHARS },
  });
  return {
    match: (texts, budget) =>
      new Promise((resolve, reject) => {
        function finish(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          worker.off('message', onMessage);
          worker.off('error', onError);
        }
        function onAbort(): void {
          finish();
          reject(signal.reason);
        }
        function onMessage(answer: BatchMatches): void {
          finish();
          resolve(answer);
        }
        function onError(err: Error): void {
          finish();
          reject(err);
        }
        const timer = setTimeout(
          () => {
            finish();
            resolve('timeout');
          },
          Math.max(0, deadline - Date.now()),
        );
        signal.addEventListener('abort', onAbort, { once: true });
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.postMessage({ texts, budget });
      }),
    stop: () => void worker.terminate(),
  };
}

/** What reading a file for grep came to. */
type TextRead = FileText | 'large' | 'binary' | { readonly refused: string } | { readonly failed: unknown };

/**
 * A project file's text, read through a checked descriptor, or why it is not searched. `rel` is
 * taken literally (as the walk found it, or as `resolveInside` resolved the path given): no link
 * on the way is followed.
 */
async function readText(root: string, rel: string): Promise<TextRead> {
  const read = await withFileInside(
    root,
    rel,
    'read',
    async (file) => {
      if (file.size > GREP_MAX_FILE_BYTES) return 'large' as const;
      // one byte over the limit tells a file grown since its size was taken
      const bytes = await readContent(file, GREP_MAX_FILE_BYTES + 1);
      if (bytes.length > GREP_MAX_FILE_BYTES) return 'large' as const;
      if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return 'binary' as const;
      return { rel: file.relative, text: bytes.toString('utf8') };
    },
    { literal: true },
  );
  return read.ok ? read.value : { refused: read.error };
}

const timedOut = (): ToolResult =>
  failure(
    `grep took longer than ${GREP_TIMEOUT_MS / 1000} s and was stopped; use a simpler pattern or a narrower path or glob.`,
  );

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
  // lstat: only says whether to walk; every file is opened by readText, which follows no link
  const stat = await fs.lstat(resolved.path).catch((err: unknown) => err as Error);
  if (stat instanceof Error) return fsFailure(input, stat);
  const single = !stat.isDirectory();
  const files: string[] = [];
  let linksOut = 0;
  let walkEnd: WalkEnd = 'done';
  if (single) files.push(resolved.relative);
  else {
    const globRegExp = glob ? globToRegExp(glob) : null;
    const globHasSlash = glob?.includes('/') ?? false;
    const links: string[] = [];
    walkEnd = await walk(
      ctx.root,
      resolved.relative,
      (entry) => {
        if (entry.kind === 'folder' || entry.kind === 'other') return;
        if (globRegExp && !matchesGlob(globRegExp, globHasSlash, entry.relative)) return;
        (entry.kind === 'file' ? files : links).push(entry.inProject);
      },
      ctx.signal,
    );
    // a link inside the project is not followed either: its target is searched under its own path
    linksOut = links.filter((link) => !resolveInside(ctx.root, link, 'read').ok).length;
  }
  const deadline = Date.now() + GREP_TIMEOUT_MS;
  const matcher = startMatcher(pattern, deadline, ctx.signal);
  const matches: string[] = [];
  let more = false;
  let large = 0;
  let binary = 0;
  try {
    let batch: FileText[] = [];
    let chars = 0;
    const flush = async (): Promise<'timeout' | void> => {
      const answer = await matcher.match(batch, GREP_MAX_MATCHES - matches.length);
      batch = [];
      chars = 0;
      if (answer === 'timeout') return 'timeout';
      matches.push(...answer.matches);
      more = answer.more;
    };
    for (const rel of files) {
      ctx.signal.throwIfAborted();
      if (Date.now() > deadline) return timedOut();
      const read = await readText(ctx.root, rel).catch((err: unknown) => ({ failed: err }));
      if (read === 'large') large++;
      else if (read === 'binary') binary++;
      else if ('failed' in read) {
        if (single) return fsFailure(input, read.failed); // else unreadable or gone meanwhile
      } else if ('refused' in read) {
        if (single) return failure(read.refused);
      } else {
        batch.push(read);
        chars += read.text.length;
        if (batch.length >= BATCH_FILES || chars >= BATCH_CHARS) {
          if ((await flush()) === 'timeout') return timedOut();
          if (more) break;
        }
      }
    }
    if (!more && batch.length > 0 && (await flush()) === 'timeout') return timedOut();
  } finally {
    matcher.stop();
  }
  const notes: string[] = [];
  if (more)
    notes.push(`[only the first ${GREP_MAX_MATCHES} matches are shown; narrow the pattern, path or glob]`);
  if (walkEnd === 'limit')
    notes.push('[the folder has too many entries; not every file was searched: give a narrower path]');
  if (large > 0) notes.push(`[${large} files over ${GREP_MAX_FILE_BYTES / 1024 / 1024} MB were skipped]`);
  if (binary > 0) notes.push(`[${binary} binary files were skipped]`);
  if (linksOut > 0) notes.push(`[${linksOut} links pointing outside the project were skipped]`);
  const head = matches.length === 0 ? `No match in ${files.length} files.` : matches.join('\n');
  return success([head, ...notes].join('\n'));
}

/** The `grep` tool. */
export const grepTool: Tool = {
  name: 'grep',
  description:
    `Search the project's text files for lines matching a JavaScript regular expression; prints path:line: text (at most ${GREP_MAX_MATCHES} matches, lines cut at ${GREP_MAX_LINE_CHARS} characters). ` +
    'Skips .git and node_modules (unless path is inside them), binary files and files over 1 MB. ' +
    'Symlinks are not followed: a linked file is searched under its own path, and links pointing outside the project are skipped and counted.',
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
  kind: 'read',
  resume: 'rerun',
  describe: (args) => describeByPattern('grep', args),
  risks: noRisks,
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
};
