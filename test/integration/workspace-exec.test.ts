import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runCommand, type ExecOptions } from '../../src/workspace/exec';
import { decideSandbox, detectBwrap, type SandboxDecision } from '../../src/workspace/sandbox';
import { sandboxPolicy } from '../../src/workspace/sandbox-policy';
import { BWRAP_WORKS, tempDirs } from '../helpers/temp-dir';
import { waitUntil } from '../helpers/wait-until';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const PLAIN = decideSandbox('off', null);

/** `kill(-pgid, 0)`: true while any member exists, zombies included. */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** Members of the group that still run (not zombies), from /proc. */
function runningMembers(pgid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      const stat = procStat(pid);
      return stat !== null && stat.pgrp === pgid && stat.state !== 'Z';
    });
}

function procStat(pid: number): { state: string; pgrp: number } | null {
  try {
    // /proc/PID/stat: pid (comm) state ppid pgrp ...; comm may hold spaces, so cut after ')'
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] as string, pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

function run(sandbox: SandboxDecision, command: string, extra: Partial<ExecOptions> = {}) {
  const root = dirs.make();
  const runDir = dirs.make('autonous-run-');
  return runCommand({
    command,
    root,
    outputPath: path.join(runDir, 'out.log'),
    timeoutMs: 30_000,
    sandbox,
    ...extra,
  }).then((result) => ({ result, root }));
}

async function bwrapDecision(): Promise<SandboxDecision> {
  const decision = decideSandbox('bwrap', await detectBwrap());
  if (decision.kind !== 'bwrap') throw new Error('bwrap was expected to work here');
  return decision;
}

const MODES: [string, () => Promise<SandboxDecision>][] = [['unsandboxed', async () => PLAIN]];
if (BWRAP_WORKS) MODES.push(['in bwrap', bwrapDecision]);

describe.each(MODES)('a command %s', (_name, decision) => {
  it('returns its exit code, duration and output', async () => {
    const { result } = await run(await decision(), 'echo out; echo err >&2; exit 3');
    expect(result.exitCode).toBe(3);
    expect(result.signal).toBeNull();
    expect(result.timedOut).toBe(false);
    expect(result.tail.split('\n').sort()).toEqual(['', 'err', 'out']);
    expect(fs.readFileSync(result.outputPath, 'utf8')).toBe(result.tail);
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it("sees only PATH, HOME (the project), LANG, TZ and git's no-config switches, never the worker's secrets", async () => {
    process.env.TELEGRAM_BOT_TOKEN = '123456:fake-telegram-token-for-test';
    process.env.OPENAI_API_KEY = 'sk-fake-openai-key-for-test';
    try {
      const { result, root } = await run(await decision(), 'env');
      expect(result.exitCode).toBe(0);
      const names = result.tail
        .trim()
        .split('\n')
        .map((line) => line.split('=')[0])
        .filter((name) => name !== 'PWD' && name !== 'SHLVL' && name !== '_');
      expect(names.sort()).toEqual(expect.arrayContaining(['HOME', 'LANG', 'PATH']));
      const allowed = ['HOME', 'LANG', 'PATH', 'TZ', 'GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL'];
      expect(names.filter((name) => !allowed.includes(name as string))).toEqual([]);
      expect(result.tail).toContain(`HOME=${root}\n`);
      expect(result.tail).not.toContain('fake-telegram-token');
      expect(result.tail).not.toContain('sk-fake-openai');
    } finally {
      delete process.env.TELEGRAM_BOT_TOKEN;
      delete process.env.OPENAI_API_KEY;
    }
  });

  it('is killed with its whole process group within 2 s of an abort', async () => {
    const abort = new AbortController();
    let pgid = 0;
    const pending = run(await decision(), 'sleep 600 & sleep 600; echo never', {
      signal: abort.signal,
      onStart: (pid) => (pgid = pid),
    });
    await waitUntil(
      () => pgid !== 0,
      5000,
      () => 'the command did not start',
    );
    // both sleeps are running before the abort
    await waitUntil(
      () => runningMembers(pgid).length >= 3,
      5000,
      () => `the group ${pgid} did not grow`,
    );
    const abortedAt = Date.now();
    abort.abort();
    const { result } = await pending;
    expect(Date.now() - abortedAt).toBeLessThan(2000);
    expect(runningMembers(pgid)).toEqual([]);
    expect(result.aborted).toBe(true);
    expect(result.tail).not.toContain('never');
    // kill(-pgid, 0) also sees zombies, which this container's init reaps only every second or so
    await waitUntil(
      () => !groupExists(pgid),
      10_000,
      () => `process group ${pgid} still exists`,
    );
  }, 20_000);

  it('is killed as a group at its timeout and says it timed out', async () => {
    const { result } = await run(await decision(), 'sleep 600', { timeoutMs: 300 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode === null || result.exitCode > 128).toBe(true);
    expect(runningMembers(result.pid as number)).toEqual([]);
  });

  it('leaves nothing running that it started in the background', async () => {
    const { result } = await run(await decision(), 'sleep 600 & echo started');
    expect(result.exitCode).toBe(0);
    expect(result.tail).toBe('started\n');
    expect(runningMembers(result.pid as number)).toEqual([]);
  });

  it('keeps a tail of 2000 lines while the whole output goes to the file', async () => {
    const { result } = await run(await decision(), 'seq 1 5000');
    expect(result.exitCode).toBe(0);
    const lines = result.tail.trimEnd().split('\n');
    expect(lines).toHaveLength(2000);
    expect(lines[0]).toBe('3001');
    expect(lines[1999]).toBe('5000');
    expect(result.tailTruncated).toBe(true);
    expect(fs.readFileSync(result.outputPath, 'utf8').trimEnd().split('\n')).toHaveLength(5000);
  });

  it('keeps the event loop turning while it runs and prints megabytes', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    try {
      const { result } = await run(
        await decision(),
        'head -c 30000000 /dev/zero | tr "\\0" x | fold -w 100; sleep 1',
      );
      expect(result.exitCode).toBe(0);
      expect(result.totalBytes).toBe(30_299_999);
      expect(Buffer.byteLength(result.tail)).toBeLessThanOrEqual(50 * 1024);
      expect(fs.statSync(result.outputPath).size).toBe(30_299_999);
      // at least half the ticks a free loop would make in the second of sleep alone
      expect(ticks).toBeGreaterThanOrEqual(25);
    } finally {
      clearInterval(timer);
    }
  });

  it('reports its progress while it runs', async () => {
    const seen: number[] = [];
    const { result } = await run(await decision(), 'sleep 0.5', {
      progressMs: 100,
      onProgress: (ms) => seen.push(ms),
    });
    expect(result.exitCode).toBe(0);
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });
});

describe('a command that cannot start', () => {
  it('is refused with the sandbox sentence when AGENT_SANDBOX=bwrap has no bwrap', async () => {
    const refuse = decideSandbox('bwrap', null);
    const { result } = await run(refuse, 'touch ran');
    expect(result.startError).toMatch(/install bubblewrap/);
    expect(result.exitCode).toBeNull();
    expect(result.pid).toBeNull();
  });

  it('is not started when the run was already aborted', async () => {
    const abort = new AbortController();
    abort.abort();
    const { result, root } = await run(PLAIN, 'touch ran', { signal: abort.signal });
    expect(result.aborted).toBe(true);
    expect(fs.existsSync(path.join(root, 'ran'))).toBe(false);
  });
});

const describeBwrap = BWRAP_WORKS ? describe : describe.skip;
if (!BWRAP_WORKS)
  console.warn('bwrap does not work on this machine: the sandbox-only assertions are skipped');

describeBwrap('a command in bwrap (skipped where bwrap does not work)', () => {
  let server: net.Server;
  let port: number;
  let connections = 0;
  beforeAll(async () => {
    server = net.createServer((socket) => {
      connections++;
      socket.end('hello\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('writes in the project but nowhere else', async () => {
    const outsideTmp = dirs.make('autonous-outside-');
    const outsideHome = dirs.make('.autonous-outside-', os.homedir());
    const { result, root } = await run(
      await bwrapDecision(),
      `touch inside; touch ${outsideTmp}/a; touch ${outsideHome}/b; touch /etc/autonous-test-c; echo done`,
    );
    expect(result.tail).toContain('done');
    expect(fs.existsSync(path.join(root, 'inside'))).toBe(true);
    expect(fs.existsSync(path.join(outsideTmp, 'a'))).toBe(false);
    expect(fs.existsSync(path.join(outsideHome, 'b'))).toBe(false);
    expect(fs.existsSync('/etc/autonous-test-c')).toBe(false);
    expect(result.tail).toMatch(/Read-only file system/);
  });

  it('cannot open a TCP connection to a server listening on 127.0.0.1', async () => {
    const before = connections;
    const { result } = await run(await bwrapDecision(), `exec 3<>/dev/tcp/127.0.0.1/${port} && head -1 <&3`);
    expect(result.exitCode).not.toBe(0);
    expect(result.tail).not.toContain('hello');
    expect(connections).toBe(before);
  });

  it('reaches the same server when the network is asked for', async () => {
    const before = connections;
    const { result } = await run(await bwrapDecision(), `exec 3<>/dev/tcp/127.0.0.1/${port} && head -1 <&3`, {
      network: true,
    });
    expect(result.exitCode).toBe(0);
    expect(result.tail).toBe('hello\n');
    expect(connections).toBe(before + 1);
  });

  it('sees nothing of the home folder: a state folder and an env file there do not exist for it', async () => {
    const state = dirs.make('.autonous-state-', os.homedir());
    fs.writeFileSync(path.join(state, 'db.sqlite'), 'secret rows');
    const envFile = path.join(dirs.make('.autonous-env-', os.homedir()), '.env');
    fs.writeFileSync(envFile, 'TELEGRAM_BOT_TOKEN=123:hidden');
    const { result } = await run(
      await bwrapDecision(),
      `(ls ${state}; cat ${envFile}; ls ${os.homedir()}) 2>&1; echo end`,
    );
    expect(result.tail).not.toContain('secret rows');
    expect(result.tail).not.toContain('hidden');
    expect(result.tail).not.toContain('db.sqlite');
    expect(result.tail).toMatch(/No such file or directory/);
    expect(result.tail).toMatch(/end\n$/);
  });

  it("cannot plant anything in .git that the person's git would run or read: config, hooks, info, commondir", async () => {
    const root = dirs.make();
    const outside = dirs.make('.autonous-plant-', os.homedir());
    spawnSync('git', ['init', '-q', root]);
    const configBefore = fs.readFileSync(path.join(root, '.git', 'config'), 'utf8');
    fs.mkdirSync(path.join(root, 'evil'));
    fs.writeFileSync(
      path.join(root, 'evil', 'config'),
      `[core]\n\tfsmonitor = touch ${outside}/fsmonitor-ran\n`,
    );
    const command = [
      `git config core.fsmonitor "touch ${outside}/config-ran"; echo config=$?`,
      `printf '#!/bin/sh\\ntouch ${outside}/hook-ran\\n' > .git/hooks/pre-commit; echo hook=$?`,
      `echo '* filter=x' > .git/info/attributes; echo info=$?`,
      `echo "$PWD/evil" > .git/commondir; echo commondir=$?`,
      `printf '[core]\\n\\tfsmonitor = touch ${outside}/wt-ran\\n' > .git/config.worktree; echo worktree=$?`,
    ].join('; ');
    const result = await runCommand({
      command,
      root,
      outputPath: path.join(dirs.make('autonous-run-'), 'out.log'),
      timeoutMs: 30_000,
      sandbox: await bwrapDecision(),
    });
    expect(result.tail).toMatch(/config=[1-9]/);
    expect(result.tail).toMatch(/hook=[1-9]/);
    expect(result.tail).toMatch(/info=[1-9]/);
    // the two files a command can create are removed once it is over, and it is told so
    expect(result.removedGitFiles).toEqual(['.git/commondir', '.git/config.worktree']);
    expect(fs.existsSync(path.join(root, '.git', 'commondir'))).toBe(false);
    expect(fs.existsSync(path.join(root, '.git', 'config.worktree'))).toBe(false);
    expect(fs.readFileSync(path.join(root, '.git', 'config'), 'utf8')).toBe(configBefore);
    expect(fs.readdirSync(path.join(root, '.git', 'hooks')).filter((f) => !f.endsWith('.sample'))).toEqual(
      [],
    );
    // the person's own git in that folder runs nothing planted
    fs.writeFileSync(path.join(root, 'a.txt'), 'a');
    spawnSync('git', ['-C', root, 'status'], { stdio: 'ignore' });
    spawnSync('git', ['-C', root, 'add', '-A'], { stdio: 'ignore' });
    spawnSync('git', ['-C', root, '-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qm', 'x'], {
      stdio: 'ignore',
    });
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('hides a protected folder again where a readable system folder holds it', async () => {
    // a checkout under /opt: /opt is readable, the checkout and its state folder are not
    const checkout = dirs.make('autonous-checkout-', '/opt');
    const state = path.join(checkout, 'state');
    fs.mkdirSync(state);
    fs.writeFileSync(path.join(state, 'db.sqlite'), 'secret rows');
    const policy = sandboxPolicy({
      protect: {
        stateDir: state,
        envFile: '/nonexistent/.env',
        checkout,
        pm2Home: '/nonexistent',
        home: os.homedir(),
      },
    });
    const decision = decideSandbox('bwrap', await detectBwrap(), policy);
    const { result } = await run(
      decision,
      `(echo "[$(ls -A ${checkout})]"; cat ${state}/db.sqlite) 2>&1; echo end`,
    );
    expect(result.tail).not.toContain('secret rows');
    expect(result.tail).toContain('[]\n');
    expect(result.tail).toMatch(/end\n$/);
  });
});
