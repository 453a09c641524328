// `edit {path, old_text, new_text}`: replaces the one occurrence of a text in a file.
import fs from 'node:fs/promises';
import { resolveInside } from '../../workspace/paths';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { argsObject, failure, fsFailure, guarded, requiredString, success } from './args';
import { editApplied, lineEndingsOf, occurrences } from './edit-match';

function lineOf(content: string, index: number): number {
  let line = 1;
  for (let i = content.indexOf('\n'); i !== -1 && i < index; i = content.indexOf('\n', i + 1)) line++;
  return line;
}

async function run(rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  const args = argsObject(rawArgs);
  const input = requiredString(args, 'path');
  const oldText = requiredString(args, 'old_text');
  const newText = requiredString(args, 'new_text');
  if (oldText === '')
    return failure('old_text is empty; give the exact text to replace (use write to create a file).');
  if (oldText === newText) return failure('old_text and new_text are the same; nothing would change.');
  const resolved = resolveInside(ctx.root, input, 'write');
  if (!resolved.ok) return failure(resolved.error);
  let content: string;
  try {
    content = await fs.readFile(resolved.path, 'utf8');
  } catch (err) {
    return fsFailure(input, err);
  }
  const texts = lineEndingsOf(content, oldText, newText);
  const found = occurrences(content, texts.old);
  if (found.length === 0) {
    return failure(
      `old_text was not found in ${input} (0 matches); read the file and copy the text exactly, whitespace included.`,
    );
  }
  if (found.length > 1) {
    return failure(
      `old_text matches ${found.length} times in ${input}; include more of the surrounding lines so that it matches once.`,
    );
  }
  const at = found[0] as number;
  const updated = content.slice(0, at) + texts.new + content.slice(at + texts.old.length);
  try {
    await fs.writeFile(resolved.path, updated);
  } catch (err) {
    return fsFailure(input, err);
  }
  const first = lineOf(updated, at);
  const last = first + (texts.new.match(/\n/g)?.length ?? 0);
  return success(
    `Edited ${resolved.relative}: the text now at line${first === last ? ` ${first}` : `s ${first}-${last}`} replaced the old one.`,
  );
}

/** See editApplied for why this check is sound and where it is ambiguous. */
async function isApplied(rawArgs: unknown, ctx: ToolContext): Promise<boolean> {
  try {
    const args = argsObject(rawArgs);
    const resolved = resolveInside(ctx.root, requiredString(args, 'path'), 'write');
    if (!resolved.ok) return false;
    const content = await fs.readFile(resolved.path, 'utf8');
    return editApplied(content, requiredString(args, 'old_text'), requiredString(args, 'new_text'));
  } catch {
    return false; // running it again gives the model the error
  }
}

/** The `edit` tool. */
export const editTool: Tool = {
  name: 'edit',
  description:
    'Replace text in a file of the project: old_text must occur exactly once (copy it exactly, with enough surrounding lines to be unique); it is replaced by new_text.',
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'File path, relative to the project folder (not inside .git).' },
      old_text: { type: 'string', description: 'The exact text to replace; must occur once in the file.' },
      new_text: { type: 'string', description: 'The text to put in its place.' },
    },
    required: ['path', 'old_text', 'new_text'],
    additionalProperties: false,
  },
  readOnly: false,
  resume: 'check-applied',
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
  isApplied,
};
