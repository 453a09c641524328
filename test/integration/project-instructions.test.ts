/**
 * A project's AGENTS.md as the agent gets it, from real files: absent, whole, cut at 32 KiB on a
 * character boundary with a note, and never read through a link out of the project or from
 * something that is not a regular file.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  instructionsBlock,
  readProjectInstructions,
  INSTRUCTIONS_MAX_BYTES,
} from '../../src/workspace/project-instructions';
import { tempDirs } from '../helpers/temp-dir';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const KIB = 1024;

function project(): string {
  return dirs.make('autonous-instructions-');
}

describe('project instructions', () => {
  it('are null when the project has no AGENTS.md', async () => {
    expect(await readProjectInstructions(project())).toBeNull();
  });

  it('are the whole of a small AGENTS.md, placed after the system prompt under a heading', async () => {
    const root = project();
    const text = '# Rules\n\nRun `npm test` before you answer. Grüße.\n';
    fs.writeFileSync(path.join(root, 'AGENTS.md'), text);

    const instructions = await readProjectInstructions(root);
    expect(instructions).toEqual({
      file: 'AGENTS.md',
      text,
      bytes: Buffer.byteLength(text),
      truncated: false,
    });
    expect(instructionsBlock(instructions!)).toBe(`\n\n# Project instructions (AGENTS.md)\n\n${text}`);
  });

  it('keep a file of exactly 32 KiB whole', async () => {
    const root = project();
    const text = 'x'.repeat(INSTRUCTIONS_MAX_BYTES);
    fs.writeFileSync(path.join(root, 'AGENTS.md'), text);
    expect(await readProjectInstructions(root)).toMatchObject({ text, truncated: false });
  });

  // the cap falls before or inside a 4-byte character: 0 to 3 of its bytes lie below it
  it.each([0, 1, 2, 3])(
    'cut a 40 KiB file at 32 KiB without breaking a character (one starting %i bytes before the cap), and say so',
    async (before) => {
      const root = project();
      const start = 'a'.repeat(INSTRUCTIONS_MAX_BYTES - before);
      const full = `${start}😀${'b'.repeat(40 * KIB - start.length - 4)}`;
      expect(Buffer.byteLength(full)).toBe(40 * KIB);
      fs.writeFileSync(path.join(root, 'AGENTS.md'), full);

      const instructions = await readProjectInstructions(root);
      expect(instructions).toMatchObject({ file: 'AGENTS.md', bytes: 40 * KIB, truncated: true });
      const note = '[AGENTS.md is 40960 bytes; only its first 32 KiB are shown. Read the file for the rest.]';
      const shown = instructions!.text.slice(0, -note.length);
      expect(instructions!.text.slice(-note.length)).toBe(note);
      expect(shown.endsWith('\n')).toBe(true);
      // the character is left out whole: no replacement character, no byte of it
      expect(shown.slice(0, -1)).toBe(start);
    },
  );

  it('keep a character that ends exactly at the cut', async () => {
    const root = project();
    const start = `${'a'.repeat(INSTRUCTIONS_MAX_BYTES - 4)}😀`;
    fs.writeFileSync(path.join(root, 'AGENTS.md'), `${start}${'b'.repeat(8 * KIB)}`);
    const instructions = await readProjectInstructions(root);
    expect(instructions?.text.startsWith(`${start}\n[AGENTS.md is`)).toBe(true);
  });

  it('are never read through a symlink that leads out of the project', async () => {
    const root = project();
    const outside = dirs.make('autonous-outside-');
    fs.writeFileSync(path.join(outside, 'secrets.env'), 'TOKEN=the-secret-of-the-worker\n');
    fs.symlinkSync(path.join(outside, 'secrets.env'), path.join(root, 'AGENTS.md'));
    expect(await readProjectInstructions(root)).toBeNull();
  });

  it('follow a symlink that stays inside the project, as the read tool does', async () => {
    const root = project();
    fs.mkdirSync(path.join(root, 'docs'));
    fs.writeFileSync(path.join(root, 'docs', 'agents.md'), 'Use tabs.\n');
    fs.symlinkSync('docs/agents.md', path.join(root, 'AGENTS.md'));
    expect(await readProjectInstructions(root)).toMatchObject({ text: 'Use tabs.\n', truncated: false });
  });

  it('are null for a folder or a FIFO named AGENTS.md, without waiting on the FIFO', async () => {
    const withFolder = project();
    fs.mkdirSync(path.join(withFolder, 'AGENTS.md'));
    expect(await readProjectInstructions(withFolder)).toBeNull();

    const withFifo = project();
    execFileSync('mkfifo', [path.join(withFifo, 'AGENTS.md')]);
    expect(await readProjectInstructions(withFifo)).toBeNull();
  });

  // root reads a file whatever its mode
  (process.getuid?.() === 0 ? it.skip : it)('are null for a file the worker may not read', async () => {
    const root = project();
    fs.writeFileSync(path.join(root, 'AGENTS.md'), 'private\n', { mode: 0o000 });
    expect(await readProjectInstructions(root)).toBeNull();
  });
});
