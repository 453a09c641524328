/**
 * The worker's own file work cannot be led out of the project: not by a symlink a command left
 * in it, not by a folder or file swapped for a symlink between the check of a path and its use,
 * not by a FIFO. Real files, real symlinks and real FIFOs; the secret lives outside /tmp, where
 * the worker's own files (its env file, the person's home) would be.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { OutgoingFile, Tool, ToolContext, ToolResult } from '../../src/agent/ports';
import { createTools } from '../../src/agent/tools';
import { beginRun, commitRun, ensureRepo, runCommitMessage, undoLast } from '../../src/workspace/git';
import {
  listFolderInside,
  openInside,
  readFileInside,
  replaceInside,
  writeFileInside,
} from '../../src/workspace/safe-fs';
import { decideSandbox } from '../../src/workspace/sandbox';
import { tempDirs } from '../helpers/temp-dir';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const SECRET = 'TOKEN=the-secret-of-the-worker';

interface World {
  root: string;
  /** A folder outside the project and outside /tmp, holding notes.txt with the secret. */
  outside: string;
  sent: { name: string; bytes: Buffer; caption?: string }[];
  ctx: ToolContext;
  call: (name: string, args: unknown) => Promise<ToolResult>;
}

function world(): World {
  const root = path.join(dirs.make(), 'project');
  fs.mkdirSync(root);
  const outside = dirs.make('autonous-h1-', '/var/tmp');
  fs.writeFileSync(path.join(outside, 'notes.txt'), `${SECRET}\n`);
  const tools = createTools({ sandbox: decideSandbox('off', null) });
  const sent: World['sent'] = [];
  const ctx: ToolContext = {
    root,
    runDir: path.join(path.dirname(root), 'run'),
    signal: new AbortController().signal,
    sendFile: async (file: OutgoingFile, caption) => void sent.push({ ...file, caption }),
  };
  const tool = (name: string): Tool => {
    const found = tools.find((t) => t.name === name);
    if (!found) throw new Error(`no tool ${name}`);
    return found;
  };
  return { root, outside, sent, ctx, call: (name, args) => tool(name).run(args, ctx) };
}

function put(root: string, rel: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content);
}

/** Every entry below `dir` with its content (a link's target), to prove nothing changed there. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const file = path.join(dir, name);
    const stat = fs.lstatSync(file);
    out[name] = stat.isSymbolicLink()
      ? `-> ${fs.readlinkSync(file)}`
      : stat.isFile()
        ? fs.readFileSync(file, 'utf8')
        : '/';
  }
  return out;
}

/**
 * `sub`, a real folder of the project when the call is checked, becomes a symlink out; returns
 * where the file that was checked is now.
 */
function swapParent(w: World): string {
  fs.renameSync(path.join(w.root, 'sub'), path.join(w.root, 'sub.real'));
  fs.symlinkSync(w.outside, path.join(w.root, 'sub'));
  return path.join(w.root, 'sub.real', 'notes.txt');
}

/** `sub/notes.txt`, a regular file when the call is checked, becomes a symlink to the secret. */
function swapFinal(w: World): string {
  fs.renameSync(path.join(w.root, 'sub', 'notes.txt'), path.join(w.root, 'sub', 'notes.real'));
  fs.symlinkSync(path.join(w.outside, 'notes.txt'), path.join(w.root, 'sub', 'notes.txt'));
  return path.join(w.root, 'sub', 'notes.real');
}

/** Opens a FIFO's other end without blocking, so that a reader stuck on it (old code) returns. */
function unblock(fifo: string): void {
  try {
    fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  } catch {
    // no reader waiting: nothing to unblock
  }
}

/** The outcome of `pending`, or 'hung' when it takes longer than `ms`. */
async function within<T>(pending: Promise<T>, ms: number): Promise<T | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  try {
    return await Promise.race([pending, hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe('grep and links', () => {
  it('does not print a file symlinked to a secret outside the project, and says it skipped the link', async () => {
    const w = world();
    put(w.root, 'src/a.txt', 'TOKEN=inside\n');
    fs.symlinkSync(path.join(w.outside, 'notes.txt'), path.join(w.root, 'notes.txt'));
    fs.symlinkSync(path.join(w.outside, 'notes.txt'), path.join(w.root, 'src', 'env'));
    fs.symlinkSync(w.outside, path.join(w.root, 'outdir'));
    fs.symlinkSync('a.txt', path.join(w.root, 'src', 'inside-link.txt'));
    const result = await w.call('grep', { pattern: 'TOKEN' });
    expect(result).toEqual({
      isError: false,
      content: 'src/a.txt:1: TOKEN=inside\n[3 links pointing outside the project were skipped]',
    });
    // a link named as the path is refused outright
    expect((await w.call('grep', { pattern: 'TOKEN', path: 'notes.txt' })).content).toMatch(
      /is outside the project folder/,
    );
  });

  it('does not hang on a FIFO in the project', async () => {
    const w = world();
    put(w.root, 'a.txt', 'needle\n');
    const fifo = path.join(w.root, 'pipe');
    execFileSync('mkfifo', [fifo]);
    try {
      expect(await within(w.call('grep', { pattern: 'needle' }), 10_000)).toEqual({
        isError: false,
        content: 'a.txt:1: needle',
      });
      expect(await within(w.call('grep', { pattern: 'needle', path: 'pipe' }), 10_000)).toEqual({
        isError: true,
        content: expect.stringMatching(/pipe is not a regular file/),
      });
    } finally {
      unblock(fifo);
    }
  });
});

describe('ls and links', () => {
  it('shows a link out by its target text only, and a name with a line break quoted', async () => {
    const w = world();
    fs.symlinkSync(path.join(w.outside, 'notes.txt'), path.join(w.root, 'env'));
    put(w.root, 'a\nfake -> entry', '');
    const result = await w.call('ls', {});
    expect(result).toEqual({
      isError: false,
      content: `"a\\nfake -> entry"\nenv -> ${path.join(w.outside, 'notes.txt')}`,
    });
  });
});

describe('a symlink swapped in after the call was checked', () => {
  // what each call leaves in the file it checked, when it went ahead with that file
  const calls: [string, Record<string, unknown>, string][] = [
    ['read', { path: 'sub/notes.txt' }, 'TOKEN=inside\n'],
    ['write', { path: 'sub/notes.txt', content: 'overwritten\n' }, 'overwritten\n'],
    ['edit', { path: 'sub/notes.txt', old_text: 'TOKEN', new_text: 'EDITED' }, 'EDITED=inside\n'],
    ['send_file', { path: 'sub/notes.txt' }, 'TOKEN=inside\n'],
  ];
  const cases = calls.flatMap(([name, args, after]) => [
    [name, args, 'a parent folder', swapParent, after] as const,
    [name, args, 'the file itself', swapFinal, after] as const,
  ]);

  it.each(cases)(
    '%s %j: %s swapped for a link out: the call stays with the checked file, nothing outside read or written',
    async (name, args, _what, swap, after) => {
      const w = world();
      put(w.root, 'sub/notes.txt', 'TOKEN=inside\n');
      const before = snapshot(w.outside);
      // the call checks its path before its first await; the swap lands right after that check,
      // before or after the open depending on how the tool is written: either is safe
      const pending = w.call(name, args);
      const checked = swap(w);
      const result = await pending;
      expect(result.content).not.toContain('the-secret');
      expect(snapshot(w.outside)).toEqual(before);
      expect(w.sent.filter((s) => s.bytes.toString().includes('the-secret'))).toEqual([]);
      if (result.isError) expect(result.content).toMatch(/symbolic link|outside the project/);
      else expect(fs.readFileSync(checked, 'utf8')).toBe(after);
    },
  );

  it('write does not create a new file through a parent folder swapped for a link', async () => {
    const w = world();
    put(w.root, 'sub/notes.txt', 'TOKEN=inside\n');
    const before = snapshot(w.outside);
    const pending = w.call('write', { path: 'sub/new.txt', content: 'x' });
    swapParent(w);
    const result = await pending;
    expect(snapshot(w.outside)).toEqual(before);
    if (!result.isError) expect(fs.readFileSync(path.join(w.root, 'sub.real', 'new.txt'), 'utf8')).toBe('x');
  });

  it('read does not hang on a FIFO, also one swapped in for the file it checked', async () => {
    const w = world();
    put(w.root, 'sub/notes.txt', 'TOKEN=inside\n');
    const fifo = path.join(w.root, 'sub', 'notes.txt');
    const pending = w.call('read', { path: 'sub/notes.txt' });
    fs.unlinkSync(fifo);
    execFileSync('mkfifo', [fifo]);
    try {
      // the file it opened, or the FIFO refused: never waiting for a writer
      expect(await within(pending, 10_000)).toEqual(
        expect.objectContaining({
          content: expect.stringMatching(/^1\tTOKEN=inside$|is not a regular file/),
        }),
      );
      expect(await within(w.call('read', { path: 'sub/notes.txt' }), 10_000)).toEqual({
        isError: true,
        content: expect.stringMatching(/sub\/notes\.txt is not a regular file/),
      });
    } finally {
      unblock(fifo);
    }
  });
});

describe('a folder swapped for a link in a tight loop by another process', () => {
  it('never lets write or read reach outside, over many calls', async () => {
    const w = world();
    put(w.root, 'sub.real/notes.txt', 'TOKEN=inside\n');
    fs.symlinkSync(w.outside, path.join(w.root, 'sub.link'));
    fs.mkdirSync(path.join(w.root, 'trash'));
    const before = snapshot(w.outside);
    // Alternates `sub` between the real folder and the link out as fast as it can. A folder the
    // worker creates at `sub` in a gap (write makes missing folders) is moved aside, so the
    // swapping never stalls. Bounded in time on its own in case the test dies first.
    const swapper = spawn(
      process.execPath,
      [
        '-e',
        `
        const fs = require('fs');
        const root = process.argv[1];
        const at = (n) => root + '/' + n;
        let trashed = 0;
        const place = (from) => {
          try { fs.renameSync(at(from), at('sub')); return; } catch {}
          try { fs.renameSync(at('sub'), at('trash/' + trashed++)); } catch {}
        };
        const take = (to) => { try { fs.renameSync(at('sub'), at(to)); } catch {} };
        const end = Date.now() + 60000;
        while (Date.now() < end) { place('sub.real'); take('sub.real'); place('sub.link'); take('sub.link'); }
        `,
        w.root,
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => swapper.once('exit', resolve));
    try {
      for (let i = 0; i < 300; i++) {
        // each call either works on the real folder or is refused; which one is up to timing
        await w.call('write', { path: 'sub/notes.txt', content: `TOKEN=inside ${i}\n` });
        expect((await w.call('read', { path: 'sub/notes.txt' })).content).not.toContain('the-secret');
      }
    } finally {
      swapper.kill('SIGKILL');
      await exited;
    }
    expect(snapshot(w.outside)).toEqual(before);
  });
});

describe('safe-fs', () => {
  it('reads and writes files inside, creating missing folders, and follows links that stay inside', async () => {
    const w = world();
    expect(await writeFileInside(w.root, 'a/b/c.txt', 'hello')).toEqual({
      ok: true,
      relative: 'a/b/c.txt',
      created: true,
      bytes: 5,
    });
    expect(await writeFileInside(w.root, 'a/b/c.txt', 'hi')).toMatchObject({
      ok: true,
      created: false,
      bytes: 2,
    });
    expect(fs.readFileSync(path.join(w.root, 'a/b/c.txt'), 'utf8')).toBe('hi');
    fs.symlinkSync('a/b', path.join(w.root, 'ab'));
    expect(await readFileInside(w.root, 'ab/c.txt')).toEqual({
      ok: true,
      content: Buffer.from('hi'),
      relative: 'a/b/c.txt',
    });
    await expect(readFileInside(w.root, 'a')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(readFileInside(w.root, 'nope.txt')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('opens a literal path without following a link at any component', async () => {
    const w = world();
    put(w.root, 'sub/notes.txt', 'TOKEN=inside\n');
    fs.symlinkSync(w.outside, path.join(w.root, 'out'));
    fs.symlinkSync(path.join(w.outside, 'notes.txt'), path.join(w.root, 'sub', 'env'));
    fs.symlinkSync('notes.txt', path.join(w.root, 'sub', 'inner'));
    const literal = { literal: true };
    for (const rel of ['out/notes.txt', 'sub/env', 'sub/inner']) {
      expect(await readFileInside(w.root, rel, 'read', literal)).toMatchObject({ ok: false, reason: 'link' });
    }
    expect(await readFileInside(w.root, 'sub/notes.txt', 'read', literal)).toMatchObject({ ok: true });
    // also among folders a write would create
    expect(await writeFileInside(w.root, 'out/deeper/x.txt', 'x', literal)).toMatchObject({
      ok: false,
      reason: 'link',
    });
    expect(await listFolderInside(w.root, 'out', literal)).toMatchObject({ ok: false, reason: 'link' });
    expect(await readFileInside(w.root, '../x', 'read', literal)).toMatchObject({
      ok: false,
      reason: 'path',
    });
    expect(snapshot(w.outside)).toEqual({ 'notes.txt': `${SECRET}\n` });
  });

  it('opens with a write confinement that keeps .git out, also for checking', async () => {
    const w = world();
    put(w.root, '.git/config', '[core]\n');
    expect(await readFileInside(w.root, '.git/config')).toMatchObject({ ok: true });
    expect(await readFileInside(w.root, '.git/config', 'check')).toMatchObject({ ok: false, reason: 'path' });
    expect(await openInside(w.root, '.git/config', 'update')).toMatchObject({ ok: false, reason: 'path' });
  });

  it('lists a folder with kinds and link targets', async () => {
    const w = world();
    put(w.root, 'sub/b.txt', '');
    fs.mkdirSync(path.join(w.root, 'sub', 'dir'));
    fs.symlinkSync(w.outside, path.join(w.root, 'sub', 'out'));
    expect(await listFolderInside(w.root, 'sub')).toEqual({
      ok: true,
      relative: 'sub',
      entries: [
        { name: 'b.txt', kind: 'file' },
        { name: 'dir', kind: 'folder' },
        { name: 'out', kind: 'link', linkTarget: w.outside },
      ],
    });
  });

  it('replaces a working-tree path without following a link at it or above it', async () => {
    const w = world();
    fs.symlinkSync(path.join(w.outside, 'notes.txt'), path.join(w.root, 'f.txt'));
    expect(
      await replaceInside(w.root, 'f.txt', { kind: 'file', bytes: Buffer.from('v1'), mode: 0o755 }),
    ).toEqual({
      ok: true,
      relative: 'f.txt',
    });
    expect(fs.lstatSync(path.join(w.root, 'f.txt')).isFile()).toBe(true);
    expect(fs.statSync(path.join(w.root, 'f.txt')).mode & 0o100).toBe(0o100);
    expect(await replaceInside(w.root, 'g/h/l', { kind: 'link', target: '../../f.txt' })).toMatchObject({
      ok: true,
    });
    expect(fs.readlinkSync(path.join(w.root, 'g/h/l'))).toBe('../../f.txt');
    expect(await replaceInside(w.root, 'g/h/l', null)).toMatchObject({ ok: true });
    expect(await replaceInside(w.root, 'nowhere/x', null)).toMatchObject({ ok: true });
    fs.symlinkSync(w.outside, path.join(w.root, 'sub'));
    expect(
      await replaceInside(w.root, 'sub/notes.txt', { kind: 'file', bytes: Buffer.from('x'), mode: 0o644 }),
    ).toMatchObject({
      ok: false,
      reason: 'link',
    });
    expect(await replaceInside(w.root, 'sub/notes.txt', null)).toMatchObject({ ok: false, reason: 'link' });
    expect(await replaceInside(w.root, '.git/config', null)).toMatchObject({ ok: false, reason: 'path' });
    expect(snapshot(w.outside)).toEqual({ 'notes.txt': `${SECRET}\n` });
  });
});

describe('/undo', () => {
  it('does not write through a folder swapped for a link while it reverts', async () => {
    const w = world();
    fs.writeFileSync(path.join(w.outside, 'f.txt'), 'outside\n');
    await ensureRepo(w.root);
    put(w.root, 'sub/f.txt', 'v1\n');
    execFileSync('git', [
      '-C',
      w.root,
      '-c',
      'user.name=person',
      '-c',
      'user.email=p@example.org',
      'add',
      '-A',
    ]);
    execFileSync('git', [
      '-C',
      w.root,
      '-c',
      'user.name=person',
      '-c',
      'user.email=p@example.org',
      'commit',
      '-qm',
      'start',
    ]);
    const checkpoint = await beginRun(w.root);
    put(w.root, 'sub/f.txt', 'v2\n');
    await commitRun(w.root, checkpoint, runCommitMessage('change f'));
    const before = snapshot(w.outside);
    // git as /undo runs it, but when it hands over the blob to write back, `sub` becomes a link out
    // (another chat's command doing it at that moment)
    const bin = dirs.make('autonous-git-');
    const trigger = path.join(bin, 'armed');
    fs.writeFileSync(trigger, '');
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(
      path.join(bin, 'git'),
      `#!/bin/sh
${realGit} "$@"
code=$?
case " $* " in *" cat-file blob "*)
  if [ -e '${trigger}' ]; then rm -f '${trigger}'; mv '${w.root}/sub' '${w.root}/sub.real'; ln -s '${w.outside}' '${w.root}/sub'; fi;;
esac
exit $code
`,
      { mode: 0o755 },
    );
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath ?? ''}`;
    try {
      await expect(undoLast(w.root)).rejects.toThrow(/symbolic link/);
    } finally {
      process.env.PATH = savedPath;
    }
    expect(fs.existsSync(trigger)).toBe(false);
    expect(snapshot(w.outside)).toEqual(before);
  });
});
