// `ls {path?}`: the entries of one folder of the project.
import { escapeHiddenJson, hasHidden } from '../../shared/escape-text';
import { listFolderInside } from '../../workspace/safe-fs';
import { describeFolder } from '../describe-call';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { noRisks } from './risk';
import { argsObject, failure, fsFailure, guarded, optionalString, success } from './args';

export const LS_MAX_ENTRIES = 500;

/**
 * A name or link target as printed: quoted, with its line breaks, tabs and hidden characters
 * escaped, when it has any, so that a name a command made cannot pass for more entries, another
 * message, or a different name.
 */
function shown(text: string): string {
  return /[\n\t]/.test(text) || hasHidden(text) ? escapeHiddenJson(JSON.stringify(text)) : text;
}

async function run(rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  const args = argsObject(rawArgs);
  const input = optionalString(args, 'path') ?? '.';
  let listed;
  try {
    // listed through a descriptor opened without following a link; a link's target is only shown
    listed = await listFolderInside(ctx.root, input);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return failure(`${input} is a file; use read to see it.`);
    return fsFailure(input, err);
  }
  if (!listed.ok) return failure(listed.error);
  const { entries } = listed;
  if (entries.length === 0) return success(`${input} is an empty folder.`);
  const lines: string[] = [];
  for (const entry of entries.slice(0, LS_MAX_ENTRIES)) {
    if (entry.kind === 'folder') lines.push(`${shown(entry.name)}/`);
    else if (entry.kind === 'link') lines.push(`${shown(entry.name)} -> ${shown(entry.linkTarget ?? '?')}`);
    else lines.push(shown(entry.name));
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
  kind: 'read',
  resume: 'rerun',
  describe: (args) => describeFolder('ls', args),
  risks: noRisks,
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
};
