// `write {path, content}`: creates or replaces a file of the project, with its folders.
import { readFileInside, writeFileInside } from '../../workspace/safe-fs';
import { describeByPath } from '../describe-call';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { noRisks } from './risk';
import { argsObject, failure, fsFailure, guarded, pathChanged, requiredString, success } from './args';

async function run(rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  const args = argsObject(rawArgs);
  const input = requiredString(args, 'path');
  const content = requiredString(args, 'content');
  let written;
  try {
    // missing folders are made one at a time and no link is followed: see safe-fs
    written = await writeFileInside(ctx.root, input, content);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR')
      return failure(`${input} is a folder; give the path of a file.`);
    return fsFailure(input, err);
  }
  if (!written.ok) return failure(written.error);
  return success(
    `${written.created ? 'Created' : 'Replaced'} ${written.relative}: ${written.bytes} bytes written.`,
  );
}

/** Whether the file already holds exactly `content` (then a resumed call has nothing to do). */
async function isApplied(rawArgs: unknown, ctx: ToolContext): Promise<boolean> {
  try {
    const args = argsObject(rawArgs);
    const current = await readFileInside(ctx.root, requiredString(args, 'path'), 'check');
    return current.ok && current.content.equals(Buffer.from(requiredString(args, 'content')));
  } catch {
    return false; // missing file or bad arguments: running it again says what is wrong
  }
}

/** The `write` tool. */
export const writeTool: Tool = {
  name: 'write',
  description:
    'Create or replace a file of the project with the given content; missing folders are created. Returns the bytes written.',
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'File path, relative to the project folder (not inside .git).' },
      content: { type: 'string', description: 'The whole new content of the file.' },
    },
    required: ['path', 'content'],
    additionalProperties: false,
  },
  kind: 'change',
  resume: 'check-applied',
  describe: (args) => describeByPath('write', args),
  risks: noRisks,
  changes: pathChanged,
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
  isApplied,
};
