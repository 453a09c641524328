// `edit {path, old_text, new_text}`: replaces the one occurrence of a text in a file.
import { overwrite, readContent, readFileInside, withFileInside } from '../../workspace/safe-fs';
import { describeByPath } from '../describe-call';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { noRisks } from './risk';
import { argsObject, failure, fsFailure, guarded, pathChanged, requiredString, success } from './args';
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
  let edited;
  try {
    // read and rewritten through one descriptor, opened without following a link
    edited = await withFileInside(ctx.root, input, 'update', async (file) =>
      replaceOnce((await readContent(file)).toString('utf8'), oldText, newText, input, (updated) =>
        overwrite(file, Buffer.from(updated)).then(() => file.relative),
      ),
    );
  } catch (err) {
    return fsFailure(input, err);
  }
  return edited.ok ? edited.value : failure(edited.error);
}

/** Replaces the one occurrence of `oldText` in `content` and saves the result with `save`. */
async function replaceOnce(
  content: string,
  oldText: string,
  newText: string,
  input: string,
  save: (updated: string) => Promise<string>,
): Promise<ToolResult> {
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
  const relative = await save(updated);
  const first = lineOf(updated, at);
  const last = first + (texts.new.match(/\n/g)?.length ?? 0);
  return success(
    `Edited ${relative}: the text now at line${first === last ? ` ${first}` : `s ${first}-${last}`} replaced the old one.`,
  );
}

/** See editApplied for why this check is sound and where it is ambiguous. */
async function isApplied(rawArgs: unknown, ctx: ToolContext): Promise<boolean> {
  try {
    const args = argsObject(rawArgs);
    const current = await readFileInside(ctx.root, requiredString(args, 'path'), 'check');
    if (!current.ok) return false;
    const content = current.content.toString('utf8');
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
  kind: 'change',
  resume: 'check-applied',
  describe: (args) => describeByPath('edit', args),
  risks: noRisks,
  changes: pathChanged,
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
  isApplied,
};
