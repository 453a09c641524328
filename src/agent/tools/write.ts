// `write {path, content}`: creates or replaces a file of the project, with its folders.
import fs from 'node:fs/promises';
import path from 'node:path';
import { resolveInside } from '../../workspace/paths';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { argsObject, failure, fsFailure, guarded, requiredString, success } from './args';

async function run(rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  const args = argsObject(rawArgs);
  const input = requiredString(args, 'path');
  const content = requiredString(args, 'content');
  const resolved = resolveInside(ctx.root, input, 'write');
  if (!resolved.ok) return failure(resolved.error);
  const existing = await fs.stat(resolved.path).catch(() => null);
  if (existing?.isDirectory()) return failure(`${input} is a folder; give the path of a file.`);
  try {
    await fs.mkdir(path.dirname(resolved.path), { recursive: true });
    await fs.writeFile(resolved.path, content);
  } catch (err) {
    return fsFailure(input, err);
  }
  const bytes = Buffer.byteLength(content);
  return success(`${existing ? 'Replaced' : 'Created'} ${resolved.relative}: ${bytes} bytes written.`);
}

/** Whether the file already holds exactly `content` (then a resumed call has nothing to do). */
async function isApplied(rawArgs: unknown, ctx: ToolContext): Promise<boolean> {
  try {
    const args = argsObject(rawArgs);
    const resolved = resolveInside(ctx.root, requiredString(args, 'path'), 'write');
    if (!resolved.ok) return false;
    const current = await fs.readFile(resolved.path);
    return current.equals(Buffer.from(requiredString(args, 'content')));
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
  readOnly: false,
  resume: 'check-applied',
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
  isApplied,
};
