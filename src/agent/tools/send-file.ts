// `send_file {path, caption?}`: sends a project file to the chat as a document.
import fs from 'node:fs/promises';
import { resolveInside } from '../../workspace/paths';
import type { Tool, ToolContext, ToolResult } from '../ports';
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
  const resolved = resolveInside(ctx.root, input, 'read');
  if (!resolved.ok) return failure(resolved.error);
  const stat = await fs.stat(resolved.path).catch((err: unknown) => err as Error);
  if (stat instanceof Error) return fsFailure(input, stat);
  if (!stat.isFile()) return failure(`${input} is not a file.`);
  if (stat.size === 0) return failure(`${input} is empty; Telegram does not send empty files.`);
  if (stat.size > SEND_FILE_MAX_BYTES) {
    return failure(
      `${input} has ${(stat.size / 1024 / 1024).toFixed(1)} MB; Telegram lets a bot send at most 50 MB. Compress or split it first.`,
    );
  }
  try {
    await ctx.sendFile(resolved.path, caption);
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    return failure(`Sending ${input} failed: ${(err as Error).message}`);
  }
  return success(`Sent ${resolved.relative} (${stat.size} bytes) to the chat.`);
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
  readOnly: false,
  resume: 'never',
  run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
};
