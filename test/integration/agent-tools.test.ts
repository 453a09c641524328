import fs from 'node:fs';
import path from 'node:path';
import type { Tool, ToolContext, ToolResult } from '../../src/agent/ports';
import { createTools } from '../../src/agent/tools';
import { decideSandbox, detectBwrap } from '../../src/workspace/sandbox';
import { BWRAP_WORKS, tempDirs } from '../helpers/temp-dir';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

interface World {
  root: string;
  outside: string;
  runDir: string;
  sent: { name: string; content: string; caption?: string }[];
  ctx: ToolContext;
  abort: AbortController;
  call: (name: string, args: unknown) => Promise<ToolResult>;
  tool: (name: string) => Tool;
}

function world(tools = createTools({ sandbox: decideSandbox('off', null) })): World {
  const base = dirs.make();
  const root = path.join(base, 'project');
  const outside = path.join(base, 'outside');
  const runDir = path.join(base, 'run');
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'the secret\n');
  const sent: World['sent'] = [];
  const abort = new AbortController();
  const ctx: ToolContext = {
    root,
    runDir,
    signal: abort.signal,
    sendFile: async (file, caption) =>
      void sent.push({ name: file.name, content: file.bytes.toString(), caption }),
  };
  const tool = (name: string): Tool => {
    const found = tools.find((t) => t.name === name);
    if (!found) throw new Error(`no tool ${name}`);
    return found;
  };
  return { root, outside, runDir, sent, ctx, abort, tool, call: (name, args) => tool(name).run(args, ctx) };
}

function put(w: World, rel: string, content: string | Buffer): string {
  const file = path.join(w.root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

describe('the tool list', () => {
  it('offers the contract names with their JSON arguments, kinds and resume policies', () => {
    const tools = createTools({ sandbox: decideSandbox('off', null) });
    expect(
      tools.map((t) => [
        t.name,
        Object.keys((t.parameters as { properties: object }).properties),
        t.kind,
        t.resume,
      ]),
    ).toEqual([
      ['read', ['path', 'offset', 'limit'], 'read', 'rerun'],
      ['write', ['path', 'content'], 'change', 'check-applied'],
      ['edit', ['path', 'old_text', 'new_text'], 'change', 'check-applied'],
      ['bash', ['command', 'timeout_seconds', 'network'], 'run', 'never'],
      ['grep', ['pattern', 'path', 'glob'], 'read', 'rerun'],
      ['find', ['pattern', 'path'], 'read', 'rerun'],
      ['ls', ['path'], 'read', 'rerun'],
      ['send_file', ['path', 'caption'], 'send', 'never'],
    ]);
    for (const t of tools) {
      expect(t.description.length).toBeGreaterThan(20);
      expect(typeof t.isApplied).toBe(t.resume === 'check-applied' ? 'function' : 'undefined');
    }
  });
});

describe('confinement', () => {
  it('refuses read ../../etc/passwd, an absolute path elsewhere and a symlink out, for every path tool', async () => {
    const w = world();
    fs.symlinkSync(path.join(w.outside, 'secret.txt'), path.join(w.root, 'link'));
    fs.symlinkSync(w.outside, path.join(w.root, 'outdir'));
    const attempts: [string, Record<string, unknown>][] = [
      ['read', { path: '../../etc/passwd' }],
      ['read', { path: '/etc/passwd' }],
      ['read', { path: path.join(w.outside, 'secret.txt') }],
      ['read', { path: 'link' }],
      ['read', { path: 'outdir/secret.txt' }],
      ['write', { path: '../escape.txt', content: 'x' }],
      ['write', { path: 'outdir/new.txt', content: 'x' }],
      ['write', { path: 'link', content: 'overwritten' }],
      ['edit', { path: 'link', old_text: 'the', new_text: 'a' }],
      ['grep', { pattern: 'secret', path: 'outdir' }],
      ['grep', { pattern: 'secret', path: '..' }],
      ['find', { pattern: '*', path: 'outdir' }],
      ['ls', { path: '..' }],
      ['ls', { path: 'outdir' }],
      ['send_file', { path: 'link' }],
    ];
    for (const [name, args] of attempts) {
      const result = await w.call(name, args);
      expect({ name, args, isError: result.isError, content: result.content }).toEqual({
        name,
        args,
        isError: true,
        content: expect.stringMatching(/is outside the project folder/),
      });
    }
    expect(fs.readFileSync(path.join(w.outside, 'secret.txt'), 'utf8')).toBe('the secret\n');
    expect(fs.existsSync(path.join(w.outside, 'new.txt'))).toBe(false);
    expect(fs.existsSync(path.join(path.dirname(w.root), 'escape.txt'))).toBe(false);
    expect(w.sent).toEqual([]);
  });

  it('refuses write and edit inside .git', async () => {
    const w = world();
    put(w, '.git/config', '[core]\n');
    expect((await w.call('write', { path: '.git/hooks/post-commit', content: 'evil' })).content).toMatch(
      /inside a \.git folder/,
    );
    expect(
      (await w.call('edit', { path: '.git/config', old_text: '[core]', new_text: 'x' })).content,
    ).toMatch(/inside a \.git folder/);
    expect(fs.existsSync(path.join(w.root, '.git', 'hooks'))).toBe(false);
  });

  it('answers bad arguments with a sentence, not a throw', async () => {
    const w = world();
    expect(await w.call('read', {})).toEqual({
      isError: true,
      content: 'The argument path is required and must be a string.',
    });
    expect(await w.call('read', 'x')).toEqual({
      isError: true,
      content: 'The arguments must be a JSON object.',
    });
    expect((await w.call('read', { path: 'a', offset: 0 })).content).toMatch(
      /offset must be a whole number of at least 1/,
    );
    expect((await w.call('bash', { command: 'true', timeout_seconds: 'x' })).content).toMatch(
      /timeout_seconds must be a number/,
    );
    expect((await w.call('grep', { pattern: '(' })).content).toMatch(
      /not a valid JavaScript regular expression/,
    );
  });
});

describe('read', () => {
  it('shows numbered lines', async () => {
    const w = world();
    put(w, 'a.txt', 'one\ntwo\nthree\n');
    expect(await w.call('read', { path: 'a.txt' })).toEqual({
      isError: false,
      content: '1\tone\n2\ttwo\n3\tthree',
    });
    expect((await w.call('read', { path: 'a.txt', offset: 2, limit: 1 })).content).toBe(
      '2\ttwo\n[lines 2-2 shown; the file goes on: read it with offset=3 to continue]',
    );
  });

  it('stops at 2000 lines and says how to continue', async () => {
    const w = world();
    put(w, 'big.txt', Array.from({ length: 5000 }, (_, i) => `line ${i + 1}`).join('\n'));
    const first = (await w.call('read', { path: 'big.txt' })).content.split('\n');
    expect(first).toHaveLength(2001);
    expect(first[1999]).toBe('2000\tline 2000');
    expect(first[2000]).toBe('[lines 1-2000 shown; the file goes on: read it with offset=2001 to continue]');
    const last = (await w.call('read', { path: 'big.txt', offset: 4001 })).content.split('\n');
    expect(last).toHaveLength(1000);
    expect(last[999]).toBe('5000\tline 5000');
  });

  it('stops at 50 KB and cuts very long lines', async () => {
    const w = world();
    put(w, 'wide.txt', Array.from({ length: 100 }, () => 'x'.repeat(1000)).join('\n'));
    const page = (await w.call('read', { path: 'wide.txt' })).content;
    expect(Buffer.byteLength(page)).toBeLessThanOrEqual(51 * 1024);
    expect(page).toMatch(/read it with offset=\d+ to continue\]$/);
    put(w, 'min.js', 'y'.repeat(100_000));
    expect((await w.call('read', { path: 'min.js' })).content).toMatch(/^1\ty{2000}… \[line cut\]$/);
  });

  it('says what is wrong with a missing file, a folder, a binary file and an offset past the end', async () => {
    const w = world();
    put(w, 'a.txt', 'one\n');
    put(w, 'bin.dat', Buffer.from([1, 2, 0, 3]));
    expect((await w.call('read', { path: 'nope.txt' })).content).toBe('nope.txt does not exist.');
    expect((await w.call('read', { path: '.' })).content).toMatch(/is a folder; use ls/);
    expect((await w.call('read', { path: 'bin.dat' })).content).toMatch(/binary file/);
    expect((await w.call('read', { path: 'a.txt', offset: 5 })).content).toBe(
      'a.txt has 1 lines; offset=5 is past its end.',
    );
  });
});

describe('write', () => {
  it('creates folders as needed and returns the bytes written', async () => {
    const w = world();
    const result = await w.call('write', { path: 'src/deep/hé.txt', content: 'héllo\n' });
    expect(result).toEqual({ isError: false, content: 'Created src/deep/hé.txt: 7 bytes written.' });
    expect(fs.readFileSync(path.join(w.root, 'src/deep/hé.txt'), 'utf8')).toBe('héllo\n');
    expect((await w.call('write', { path: 'src/deep/hé.txt', content: '' })).content).toBe(
      'Replaced src/deep/hé.txt: 0 bytes written.',
    );
  });

  it('is applied exactly when the file holds the content', async () => {
    const w = world();
    const write = w.tool('write');
    const args = { path: 'a.txt', content: 'new' };
    expect(await write.isApplied?.(args, w.ctx)).toBe(false);
    put(w, 'a.txt', 'old');
    expect(await write.isApplied?.(args, w.ctx)).toBe(false);
    await write.run(args, w.ctx);
    expect(await write.isApplied?.(args, w.ctx)).toBe(true);
    expect(await write.isApplied?.({ path: '../x', content: 'new' }, w.ctx)).toBe(false);
  });
});

describe('edit', () => {
  it('replaces the one match', async () => {
    const w = world();
    const file = put(w, 'a.ts', 'const a = 1;\nconst b = 2;\n');
    const result = await w.call('edit', {
      path: 'a.ts',
      old_text: 'const b = 2;',
      new_text: 'const b = 3;\nconst c = 4;',
    });
    expect(result).toEqual({
      isError: false,
      content: 'Edited a.ts: the text now at lines 2-3 replaced the old one.',
    });
    expect(fs.readFileSync(file, 'utf8')).toBe('const a = 1;\nconst b = 3;\nconst c = 4;\n');
  });

  it('refuses 0 or N matches and says which', async () => {
    const w = world();
    const file = put(w, 'a.ts', 'x = 1;\nx = 1;\n');
    expect((await w.call('edit', { path: 'a.ts', old_text: 'y', new_text: 'z' })).content).toMatch(
      /not found in a\.ts \(0 matches\)/,
    );
    expect((await w.call('edit', { path: 'a.ts', old_text: 'x = 1;', new_text: 'z' })).content).toMatch(
      /matches 2 times in a\.ts/,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('x = 1;\nx = 1;\n');
  });

  it('does not interpret $ patterns of the new text', async () => {
    const w = world();
    const file = put(w, 'a.txt', 'price\n');
    await w.call('edit', { path: 'a.txt', old_text: 'price', new_text: "$& $' $1" });
    expect(fs.readFileSync(file, 'utf8')).toBe("$& $' $1\n");
  });

  it('keeps the CRLF line endings of a file', async () => {
    const w = world();
    const file = put(w, 'win.txt', 'a\r\nb\r\nc\r\n');
    expect((await w.call('edit', { path: 'win.txt', old_text: 'a\nb', new_text: 'a\nB' })).isError).toBe(
      false,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('a\r\nB\r\nc\r\n');
  });

  it('is applied after the edit and not before, also when the new text contains the old', async () => {
    const w = world();
    const edit = w.tool('edit');
    put(w, 'a.ts', 'foo();\n');
    const args = { path: 'a.ts', old_text: 'foo();', new_text: 'foo();\nbar();' };
    expect(await edit.isApplied?.(args, w.ctx)).toBe(false);
    await edit.run(args, w.ctx);
    expect(await edit.isApplied?.(args, w.ctx)).toBe(true);
  });
});

describe('bash', () => {
  it('returns the exit code, the output and where the whole output is', async () => {
    const w = world();
    const result = await w.call('bash', { command: 'echo hello > f.txt; cat f.txt; exit 2' });
    expect(result.isError).toBe(true);
    expect(result.exitCode).toBe(2);
    expect(result.outputPath).toMatch(new RegExp(`^${w.runDir}/bash-.*\\.log$`));
    expect(result.content).toMatch(/^exit code 2 after \d+(\.\d)? s \(unsandboxed\)\n/);
    expect(result.content).toContain(`output (also in ${result.outputPath}):\nhello`);
    expect(fs.readFileSync(result.outputPath as string, 'utf8')).toBe('hello\n');
    expect(fs.readFileSync(path.join(w.root, 'f.txt'), 'utf8')).toBe('hello\n');
  });

  it('says when the output was cut to its tail', async () => {
    const w = world();
    const result = await w.call('bash', { command: 'seq 1 3000' });
    expect(result.isError).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(result.content).toContain(
      `output (its last part; 13893 bytes in all, the whole output is in ${result.outputPath}):\n1001\n`,
    );
    expect(result.content.endsWith('\n3000')).toBe(true);
  });

  it('says it timed out and caps the timeout at 600 s', async () => {
    const w = world();
    const result = await w.call('bash', { command: 'echo start; sleep 30', timeout_seconds: 0.3 });
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(/killed by SIGTERM \(exit code 143\)/);
    expect(result.content).toContain(
      'timed out after 0.3 s: the command and everything it started were killed',
    );
    expect(result.content).toContain('start');
    const capped = await w.call('bash', { command: 'true', timeout_seconds: 5000 });
    expect(capped.content).toContain('(timeout_seconds 5000 is above the limit; 600 was used)');
  });

  it('throws the abort of a stopped run after killing the command', async () => {
    const w = world();
    const pending = w.call('bash', { command: 'sleep 600' });
    setTimeout(() => w.abort.abort(new Error('stopped by /stop')), 200);
    await expect(pending).rejects.toThrow('stopped by /stop');
  });

  it('reports progress while the command runs', async () => {
    const w = world();
    const progress: string[] = [];
    const ctx = { ...w.ctx, onProgress: (text: string) => progress.push(text) };
    await w.tool('bash').run({ command: 'sleep 1.2' }, ctx);
    expect(progress).toContain('running 1 s');
  });

  it('refuses to run under AGENT_SANDBOX=bwrap without bwrap', async () => {
    const w = world(createTools({ sandbox: decideSandbox('bwrap', null) }));
    const result = await w.call('bash', { command: 'touch ran' });
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(/install bubblewrap/);
    expect(fs.existsSync(path.join(w.root, 'ran'))).toBe(false);
  });

  (BWRAP_WORKS ? it : it.skip)(
    'runs in bwrap when it works: no write outside, no network (skipped without bwrap)',
    async () => {
      const w = world(createTools({ sandbox: decideSandbox('auto', await detectBwrap()) }));
      const result = await w.call('bash', { command: `echo hi > ${w.outside}/x; touch inside; echo $HOME` });
      expect(result.content).toMatch(/^exit code 0 after/);
      expect(result.content).not.toContain('unsandboxed');
      expect(result.content).toContain(w.root);
      expect(fs.existsSync(path.join(w.outside, 'x'))).toBe(false);
      expect(fs.existsSync(path.join(w.root, 'inside'))).toBe(true);
    },
  );
});

describe('grep', () => {
  it('prints path:line: text of matches, skipping .git, node_modules, binary and large files', async () => {
    const w = world();
    put(w, 'src/a.ts', 'const needle = 1;\nother\n');
    put(w, 'src/b.js', 'needle again\n');
    put(w, '.git/config', 'needle\n');
    put(w, 'node_modules/x/index.js', 'needle\n');
    put(w, 'bin.dat', Buffer.concat([Buffer.from('needle'), Buffer.from([0])]));
    put(w, 'huge.log', `needle\n${'z'.repeat(1024 * 1024)}`);
    const result = await w.call('grep', { pattern: 'needle' });
    expect(result.content).toBe(
      'src/a.ts:1: const needle = 1;\nsrc/b.js:1: needle again\n[1 files over 1 MB were skipped]\n[1 binary files were skipped]',
    );
    expect((await w.call('grep', { pattern: 'needle', glob: '*.ts' })).content).toBe(
      'src/a.ts:1: const needle = 1;',
    );
    expect((await w.call('grep', { pattern: 'needle', path: 'node_modules' })).content).toBe(
      'node_modules/x/index.js:1: needle',
    );
    expect((await w.call('grep', { pattern: 'nothing' })).content).toMatch(
      /^No match in 4 files\.\n\[1 files over 1 MB/,
    );
  });

  it('shows at most 100 matches of at most 500 characters', async () => {
    const w = world();
    put(w, 'many.txt', Array.from({ length: 300 }, (_, i) => `hit ${i} ${'w'.repeat(1000)}`).join('\n'));
    const lines = (await w.call('grep', { pattern: '^hit' })).content.split('\n');
    expect(lines).toHaveLength(101);
    expect(lines[0]).toBe(`many.txt:1: hit 0 ${'w'.repeat(494)}…`);
    expect(lines[100]).toBe('[only the first 100 matches are shown; narrow the pattern, path or glob]');
  });

  it('keeps the event loop free while a catastrophic pattern runs', async () => {
    const w = world();
    put(w, 'evil.txt', `${'a'.repeat(34)}!\n`);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const pending = w.call('grep', { pattern: '^(a+)+$' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    w.abort.abort(new Error('stopped'));
    await expect(pending).rejects.toThrow('stopped');
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(10);
  });
});

describe('find and ls', () => {
  it('finds names by glob at any depth, folders with a slash', async () => {
    const w = world();
    put(w, 'src/a.test.ts', '');
    put(w, 'src/sub/b.test.ts', '');
    put(w, 'src/c.ts', '');
    put(w, 'node_modules/d.test.ts', '');
    expect((await w.call('find', { pattern: '*.test.ts' })).content).toBe('src/a.test.ts\nsrc/sub/b.test.ts');
    expect((await w.call('find', { pattern: 'sub' })).content).toBe('src/sub/');
    expect((await w.call('find', { pattern: '**/*.ts', path: 'src/sub' })).content).toBe('src/sub/b.test.ts');
    expect((await w.call('find', { pattern: '*.py' })).content).toBe('Nothing matches *.py in ..');
  });

  it('lists a folder in order with folders and links marked', async () => {
    const w = world();
    put(w, 'b.txt', '');
    put(w, '.hidden', '');
    put(w, 'dir/x', '');
    fs.symlinkSync('b.txt', path.join(w.root, 'alink'));
    expect((await w.call('ls', {})).content).toBe('.hidden\nalink -> b.txt\nb.txt\ndir/');
    expect((await w.call('ls', { path: 'dir' })).content).toBe('x');
    expect((await w.call('ls', { path: 'b.txt' })).content).toMatch(/is a file; use read/);
  });
});

describe('send_file', () => {
  it('sends a project file with its caption', async () => {
    const w = world();
    put(w, 'out/report.txt', 'report');
    expect(await w.call('send_file', { path: 'out/report.txt', caption: 'here' })).toEqual({
      isError: false,
      content: 'Sent out/report.txt (6 bytes) to the chat.',
    });
    expect(w.sent).toEqual([{ name: 'report.txt', content: 'report', caption: 'here' }]);
  });

  it('refuses a file over 50 MB, an empty file and a long caption', async () => {
    const w = world();
    const big = put(w, 'big.bin', '');
    fs.truncateSync(big, 50 * 1024 * 1024 + 1);
    put(w, 'empty.txt', '');
    put(w, 'ok.txt', 'x');
    expect((await w.call('send_file', { path: 'big.bin' })).content).toMatch(
      /50\.0 MB; Telegram lets a bot send at most 50 MB/,
    );
    expect((await w.call('send_file', { path: 'empty.txt' })).content).toMatch(/is empty/);
    expect((await w.call('send_file', { path: 'ok.txt', caption: 'c'.repeat(1025) })).content).toMatch(
      /at most 1024/,
    );
    expect(w.sent).toEqual([]);
  });

  it('turns a failed send into an error the model sees', async () => {
    const w = world();
    put(w, 'a.txt', 'x');
    const ctx = {
      ...w.ctx,
      sendFile: async () => Promise.reject(new Error('Telegram refused the document')),
    };
    expect(await w.tool('send_file').run({ path: 'a.txt' }, ctx)).toEqual({
      isError: true,
      content: 'Sending a.txt failed: Telegram refused the document',
    });
  });
});
