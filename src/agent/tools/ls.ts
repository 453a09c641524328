// `ls {path?}`: the entries of one folder of the project.
import fs from 'node:fs/promises';
import path from 'node:path';
import { resolveInside } from '../../workspace/paths';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { argsObject, failure, fsFailure, guarded, optionalString, success } from './args';

export const LS_MAX_ENTRIES = 500;

async function run(rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  const args = argsObject(rawArgs);
  const input = optionalString(args, 'path') ?? '.';
  const resolved = resolveInside(ctx.root, input, 'read');
  if (!resolved.ok) return failure(resolved.error);
  let entries;
  try {
    entries = await fs.readdir(resolved.path, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return failure(`${input} is a file; use read to see it.`);
    return fsFailure(input, err);
  }
  if (entries.length === 0) return success(`${input} is an empty folder.`);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines: string[] = [];
  for (const entry of entries.slice(0, LS_MAX_ENTRIES)) {
    if (entry.isDirectory()) lines.push(`${entry.name}/`);
    else if (entry.isSymbolicLink()) {
      const target = await fs.readlink(path.join(resolved.path, entry.name)).catch(() => '?');
      lines.push(`${entry.name} -> ${target}`);
    } else lines.push(entry.name);
  }
  if (entries.length > LS_MAX_ENTRIES)
    lines.push(`[${entries.length - LS_MAX_ENTRIES} more entries not shown; use find]`);
  return success(lines.join('\n'));
}

/** The `ls` tool. */
export const lsTool: Tool = {
  name: 'ls',
  description: `List a folder of the project (names in order, folders ending with /, symlinks with their target; at most ${LS_MAX_ENTRIES}).`,
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'Folder, relative to the project (default: its top).' },
    },
    additionalProperties: false,
  },
  readOnly: true,
  resume: 'rerun',
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
};
