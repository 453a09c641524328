// A project's instructions to the agent: `AGENTS.md` at its root, the file Codex, pi and OpenClaw
// read. It is read through the confined opener like any file of the project, since a command of
// the agent may have made it a link to a file of the worker's. It goes into every request of the
// project, so it is capped as Codex caps it: a longer file is cut, and the model is told to read
// the rest with its tools.
import { StringDecoder } from 'node:string_decoder';
import { readContent, withFileInside } from './safe-fs';

/** The file's name at the project's root. */
export const INSTRUCTIONS_FILE = 'AGENTS.md';

/** The most of the file that goes into a request. */
export const INSTRUCTIONS_MAX_BYTES = 32 * 1024;

/** What a project tells the agent, as it goes into the request. */
export interface ProjectInstructions {
  /** The file's name, relative to the project's root. */
  readonly file: string;
  /** Its text, ending with a note to the model when it was cut. */
  readonly text: string;
  /** The file's size. */
  readonly bytes: number;
  /** Whether only its first `INSTRUCTIONS_MAX_BYTES` are in `text`. */
  readonly truncated: boolean;
}

/** What makes the file unreadable as instructions rather than a failure of the worker. */
const ABSENT_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'ELOOP']);

/** The file's first bytes (one more than the cap) and its size; null when it cannot be had. */
async function readHead(root: string): Promise<{ content: Buffer; size: number } | null> {
  try {
    // the byte past the cap tells a file that grew since it was opened from one that fits
    const read = await withFileInside(root, INSTRUCTIONS_FILE, 'read', async (file) => ({
      content: await readContent(file, INSTRUCTIONS_MAX_BYTES + 1),
      size: file.size,
    }));
    return read.ok ? read.value : null;
  } catch (err) {
    if (ABSENT_CODES.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
}

/**
 * The project's `AGENTS.md` (`root` a real absolute path), cut at 32 KiB on a character boundary;
 * null when it is missing, not a regular file, leads out of the project or cannot be read.
 */
export async function readProjectInstructions(root: string): Promise<ProjectInstructions | null> {
  const head = await readHead(root);
  if (head === null) return null;
  const { content, size } = head;
  if (content.length <= INSTRUCTIONS_MAX_BYTES) {
    return { file: INSTRUCTIONS_FILE, text: content.toString('utf8'), bytes: size, truncated: false };
  }
  // a decoder's write holds back the bytes of a character it has not seen the end of
  const shown = new StringDecoder('utf8').write(content.subarray(0, INSTRUCTIONS_MAX_BYTES));
  const bytes = Math.max(size, content.length);
  const note = `[${INSTRUCTIONS_FILE} is ${bytes} bytes; only its first ${INSTRUCTIONS_MAX_BYTES / 1024} KiB are shown. Read the file for the rest.]`;
  return {
    file: INSTRUCTIONS_FILE,
    text: `${shown}${shown.endsWith('\n') ? '' : '\n'}${note}`,
    bytes,
    truncated: true,
  };
}

/** The instructions as they follow the system prompt in a request. */
export function instructionsBlock(i: ProjectInstructions): string {
  return `\n\n# Project instructions (${i.file})\n\n${i.text}`;
}

/** A run's system prompt: the configured one, followed by the project's instructions when it has them. */
export function systemPromptWith(systemPrompt: string, instructions: ProjectInstructions | null): string {
  return instructions === null ? systemPrompt : `${systemPrompt}${instructionsBlock(instructions)}`;
}
