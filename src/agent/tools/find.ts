// `find {pattern, path?}`: files and folders of the project whose name matches a glob.
import fs from 'node:fs/promises';
import { resolveInside } from '../../workspace/paths';
import { describeByPattern } from '../describe-call';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { noRisks } from './risk';
import { argsObject, failure, fsFailure, guarded, optionalString, requiredString, success } from './args';
import { globToRegExp, matchesGlob } from './glob';
import { walk } from './walk';

export const FIND_MAX_RESULTS = 1000;

async function run(rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  const args = argsObject(rawArgs);
  const pattern = requiredString(args, 'pattern');
  if (pattern.trim() === '') return failure('The pattern is empty; use "*" to list everything.');
  const input = optionalString(args, 'path') ?? '.';
  const resolved = resolveInside(ctx.root, input, 'read');
  if (!resolved.ok) return failure(resolved.error);
  // lstat: a real path that is no folder now (a link swapped in) is not walked
  const stat = await fs.lstat(resolved.path).catch((err: unknown) => err as Error);
  if (stat instanceof Error) return fsFailure(input, stat);
  if (!stat.isDirectory()) return failure(`${input} is a file; give a folder to search in.`);
  const glob = globToRegExp(pattern);
  const hasSlash = pattern.includes('/');
  const found: string[] = [];
  let more = false;
  const end = await walk(
    ctx.root,
    resolved.relative,
    (entry) => {
      if (!matchesGlob(glob, hasSlash, entry.relative)) return true;
      if (found.length >= FIND_MAX_RESULTS) {
        more = true;
        return false;
      }
      found.push(entry.inProject + (entry.kind === 'folder' ? '/' : ''));
      return true;
    },
    ctx.signal,
  );
  const lines = found.length === 0 ? [`Nothing matches ${pattern} in ${input}.`] : found;
  if (more) lines.push(`[only the first ${FIND_MAX_RESULTS} are shown; narrow the pattern or path]`);
  if (end === 'limit')
    lines.push('[the folder has too many entries; not all were searched: give a narrower path]');
  return success(lines.join('\n'));
}

/** The `find` tool. */
export const findTool: Tool = {
  name: 'find',
  description:
    'Find files and folders of the project by name with a glob (*, **, ?, [abc], {a,b}); without a / it matches names at any depth, with one the path below the searched folder. Folders end with /. Skips .git and node_modules.',
  parameters: {
    type: 'object',
    properties: {
      pattern: { type: 'string', description: 'A glob, e.g. "*.test.ts" or "src/**/index.ts".' },
      path: {
        type: 'string',
        description: 'Folder to search, relative to the project (default: all of it).',
      },
    },
    required: ['pattern'],
    additionalProperties: false,
  },
  kind: 'read',
  resume: 'rerun',
  describe: (args) => describeByPattern('find', args),
  risks: noRisks,
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
};
