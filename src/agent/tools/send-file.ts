// `send_file {path, caption?}`: sends a project file to the chat as a document.
import path from 'node:path';
import { readContent, withFileInside } from '../../workspace/safe-fs';
import { describeByPath } from '../describe-call';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { noRisks } from './risk';
import { argsObject, failure, fsFailure, guarded, optionalString, requiredString, success } from './args';

/** Telegram's upload limit for bots (sendDocument). */
export const SEND_FILE_MAX_BYTES = 50 * 1024 * 1024;
/** Telegram's caption limit. */
export const CAPTION_MAX_CHARS = 1024;

async function run(rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  const args = argsObject(rawArgs);
  const input = requiredString(args, 'path');
  const caption = optionalString(args, 'caption');
  if (caption !== undefined && caption.length > CAPTION_MAX_CHARS) {
    return failure(
      `The caption has ${caption.length} characters; Telegram takes at most ${CAPTION_MAX_CHARS}.`,
    );
  }
  let read;
  try {
    // the bytes sent are the ones read through the checked descriptor, never the path again
    read = await withFileInside(ctx.root, input, 'read', async (file) => ({
      relative: file.relative,
      size: file.size,
      // one byte over the limit is enough to know that a file grown meanwhile is too big
      bytes: file.size > SEND_FILE_MAX_BYTES ? null : await readContent(file, SEND_FILE_MAX_BYTES + 1),
    }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') return failure(`${input} is not a file.`);
    return fsFailure(input, err);
  }
  if (!read.ok) return failure(read.error);
  const { relative, size, bytes } = read.value;
  if (bytes?.length === 0) return failure(`${input} is empty; Telegram does not send empty files.`);
  if (bytes === null || bytes.length > SEND_FILE_MAX_BYTES) {
    return failure(
      `${input} has ${(Math.max(size, bytes?.length ?? 0) / 1024 / 1024).toFixed(1)} MB; Telegram lets a bot send at most 50 MB. Compress or split it first.`,
    );
  }
  try {
    await ctx.sendFile({ bytes, name: path.basename(relative) }, caption);
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    return failure(`Sending ${input} failed: ${(err as Error).message}`);
  }
  return success(`Sent ${relative} (${bytes.length} bytes) to the chat.`);
}

/** The `send_file` tool. */
export const sendFileTool: Tool = {
  name: 'send_file',
  description:
    'Send a file of the project to the chat as a document (at most 50 MB), with an optional caption.',
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'File path, relative to the project folder.' },
      caption: {
        type: 'string',
        maxLength: CAPTION_MAX_CHARS,
        description: 'Text shown under the document.',
      },
    },
    required: ['path'],
    additionalProperties: false,
  },
  kind: 'send',
  resume: 'never',
  describe: (args) => describeByPath('send_file', args),
  risks: noRisks,
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
};
