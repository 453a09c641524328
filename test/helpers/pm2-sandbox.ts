/**
 * The real PM2, isolated per test: its own PM2_HOME (daemon, sockets, pid files, logs) in a short
 * temporary folder, driven through the real CLI. Every sandbox's daemon is killed at the end, also
 * when a test fails, times out or its process dies (afterAll → `kill()`, a watchdog process, jest's
 * globalTeardown → `reapSandboxes()`).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitUntil } from './wait-until';

const REPO = path.resolve(__dirname, '..', '..');
const PM2_BIN = path.join(REPO, 'node_modules', 'pm2', 'bin', 'pm2');
// PM2's unix sockets live in PM2_HOME and socket paths are limited to ~100 bytes: keep it short.
const SHORT_TMP = fs.existsSync('/tmp') ? '/tmp' : os.tmpdir();
// The developer's own PM2 and secrets must not leak into a test's daemon.
const INHERITED_SECRETS = ['TELEGRAM_BOT_TOKEN', 'OPENAI_API_KEY'];
// Linux tells a zombie from a running process in /proc; elsewhere only kill(0) is available.
const HAS_PROC = fs.existsSync('/proc/self/stat');
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** Where each live sandbox leaves a record, so another process (globalTeardown) can reap it. */
export const SANDBOX_RECORDS_DIR = path.join(os.tmpdir(), 'autonous-pm2-sandboxes');

/** One app as `pm2 jlist` reports it. */
export interface Pm2Proc {
  name: string;
  pm_id: number;
  /** 0 when the app is not running. */
  pid: number;
  status: string;
  restart_time: number;
  unstable_restarts: number;
  /** Exit code of the last exit, once the app has exited. */
  exit_code?: number;
  /** When the current run started (ms). */
  pm_uptime: number;
  created_at: number;
  /** The app's environment as PM2 passes it (after `filter_env`). */
  env: Record<string, string>;
  /** Custom metrics the app publishes (`pm2_env.axm_monitor`), by name. */
  metrics: Record<string, number | string>;
}

/** Output of one pm2 CLI run (colours stripped). */
export interface Pm2Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** A PM2 daemon of its own; see `startPm2Sandbox`. */
export interface Pm2Sandbox {
  /** PM2_HOME of this sandbox (also its root folder). */
  readonly home: string;
  /** AUTONOUS_LOG_DIR given to the ecosystem (PM2's own default log folder too). */
  readonly logDir: string;
  /** Runs the pm2 CLI with this sandbox's environment; never throws on a non-zero exit. */
  pm2(args: string[], timeoutMs?: number): Promise<Pm2Result>;
  /** All apps (`pm2 jlist`). */
  list(): Promise<Pm2Proc[]>;
  /** One app, or undefined when PM2 does not know it. */
  proc(name: string): Promise<Pm2Proc | undefined>;
  /** The app's pid, or undefined when it is not running. */
  pid(name: string): Promise<number | undefined>;
  /** PM2's restart counter of the app (0 when unknown). */
  restarts(name: string): Promise<number>;
  /** Polls `pm2 jlist` until `predicate` holds; resolves with that list, rejects naming `what`. */
  waitFor(
    predicate: (procs: Pm2Proc[]) => boolean | Promise<boolean>,
    timeoutMs?: number,
    what?: string,
  ): Promise<Pm2Proc[]>;
  /** Waits until the app is `online` with a pid (PM2 says online right after fork, not when ready). */
  waitOnline(name: string, timeoutMs?: number): Promise<Pm2Proc>;
  /** Signals the app's process directly, like a crash (PM2 did not ask for it); returns the pid. */
  killProcess(name: string, signal?: NodeJS.Signals): Promise<number>;
  /** The log files' contents: `*.out.log`/`*-out.log` into `out`, the rest into `err`; `match` filters file names. */
  logs(match?: string): { out: string; err: string };
  /** `pm2 kill`, makes sure the daemon and its apps are gone, deletes the folder. Idempotent. */
  kill(): Promise<void>;
}

/** Options of `startPm2Sandbox`. */
export interface Pm2SandboxOptions {
  /** Added to the environment of the pm2 CLI (and so of the apps). */
  env: Record<string, string>;
  /** App names to start (default all in the ecosystem); `[]` starts nothing. */
  only?: string[];
  /** Ecosystem file (default the repository's `ecosystem.config.cjs`). */
  ecosystem?: string;
}

interface SandboxRecord {
  home: string;
  ownerPid: number;
  runnerPid: number;
}

const live = new Set<Pm2Sandbox>();
const liveHomes = new Set<string>();
let exitHookInstalled = false;

/** Creates a PM2_HOME, starts the ecosystem's apps in it and returns the handle. */
export async function startPm2Sandbox(opts: Pm2SandboxOptions): Promise<Pm2Sandbox> {
  const home = fs.mkdtempSync(path.join(SHORT_TMP, 'a2-'));
  const logDir = path.join(home, 'logs');
  fs.mkdirSync(logDir);
  const record = recordPath(home);
  fs.mkdirSync(SANDBOX_RECORDS_DIR, { recursive: true });
  const owner: SandboxRecord = { home, ownerPid: process.pid, runnerPid: process.ppid };
  fs.writeFileSync(record, JSON.stringify(owner));
  liveHomes.add(home);
  installExitHook();
  const watchdog = startWatchdog(home, record);

  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PM2_') && !INHERITED_SECRETS.includes(key)) env[key] = value;
  }
  Object.assign(env, { AUTONOUS_LOG_DIR: logDir }, opts.env, { PM2_HOME: home });

  const pm2 = (args: string[], timeoutMs = 30000): Promise<Pm2Result> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [PM2_BIN, ...args],
        { env, cwd: REPO, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout: stdout.replace(ANSI, ''), stderr: stderr.replace(ANSI, '') });
        },
      );
    });

  const list = async (): Promise<Pm2Proc[]> => {
    const result = await pm2(['jlist']);
    // A first command also prints the daemon's banner: the list is the line that is a JSON array.
    const line = result.stdout.split('\n').find((l) => l.startsWith('['));
    if (result.code !== 0 || !line)
      throw new Error(`pm2 jlist failed (${result.code}): ${result.stderr || result.stdout}`);
    return (JSON.parse(line) as RawProc[]).map(toProc);
  };
  const proc = async (name: string) => (await list()).find((p) => p.name === name);

  let killed = false;
  const sandbox: Pm2Sandbox = {
    home,
    logDir,
    pm2,
    list,
    proc,
    async pid(name) {
      const p = await proc(name);
      return p && p.pid > 0 ? p.pid : undefined;
    },
    async restarts(name) {
      return (await proc(name))?.restart_time ?? 0;
    },
    async waitFor(predicate, timeoutMs = 20000, what = 'condition') {
      let last: Pm2Proc[] = [];
      await waitUntil(
        async () => predicate((last = await list())),
        timeoutMs,
        () =>
          `PM2 sandbox: timed out after ${timeoutMs} ms waiting for ${what}; apps: ${
            last.map((p) => `${p.name} ${p.status} pid=${p.pid} restarts=${p.restart_time}`).join(', ') ||
            'none'
          }`,
        100,
      );
      return last;
    },
    async waitOnline(name, timeoutMs = 20000) {
      const procs = await sandbox.waitFor(
        (ps) => ps.some((p) => p.name === name && p.status === 'online' && p.pid > 0),
        timeoutMs,
        `${name} online`,
      );
      return procs.find((p) => p.name === name) as Pm2Proc;
    },
    async killProcess(name, signal = 'SIGKILL') {
      const pid = await sandbox.pid(name);
      if (pid === undefined) throw new Error(`PM2 sandbox: ${name} has no running process to kill`);
      process.kill(pid, signal);
      return pid;
    },
    logs(match) {
      let out = '';
      let err = '';
      const files = fs.existsSync(logDir) ? fs.readdirSync(logDir).sort() : [];
      for (const file of files) {
        if (match && !file.includes(match)) continue;
        const text = fs.readFileSync(path.join(logDir, file), 'utf8');
        if (/[.-]out\.log$/.test(file)) out += text;
        else err += text;
      }
      return { out, err };
    },
    async kill() {
      if (killed) return;
      killed = true;
      live.delete(sandbox);
      const appPids = readPids(home);
      const daemonPid = readPid(path.join(home, 'pm2.pid'));
      // `pm2 kill` without a daemon would spawn one first, just to stop it.
      if (daemonPid !== undefined && isProcessAlive(daemonPid)) await pm2(['kill'], 30000);
      if (daemonPid !== undefined) {
        await waitUntil(
          () => !isProcessAlive(daemonPid),
          3000,
          () => '',
        ).catch(() => killAndWait([daemonPid]));
      }
      killAndWait(appPids.filter(isProcessAlive));
      if (watchdog) signal(watchdog, 'SIGKILL');
      removeHome(home);
      liveHomes.delete(home);
    },
  };
  live.add(sandbox);

  if (opts.only?.length !== 0) {
    const args = ['start', opts.ecosystem ?? path.join(REPO, 'ecosystem.config.cjs')];
    if (opts.only) args.push('--only', opts.only.join(','));
    const result = await pm2(args);
    if (result.code !== 0) {
      const output = `${result.stdout}\n${result.stderr}`.trim();
      await sandbox.kill();
      throw new Error(`PM2 sandbox: pm2 ${args.join(' ')} failed (${result.code}):\n${output}`);
    }
  }
  return sandbox;
}

/** Kills every sandbox this process started and has not killed yet (for an afterAll). */
export async function killAllSandboxes(): Promise<void> {
  await Promise.all([...live].map((sandbox) => sandbox.kill()));
}

/**
 * Reaps sandboxes left by dead processes, and (with `runnerPid`) those of that jest run: SIGKILL
 * their daemon and apps, wait until these are gone, delete their folders and records. Records of
 * other live runs are kept.
 */
export function reapSandboxes(runnerPid?: number): number {
  let reaped = 0;
  const records = fs.existsSync(SANDBOX_RECORDS_DIR) ? fs.readdirSync(SANDBOX_RECORDS_DIR) : [];
  for (const file of records) {
    const recordFile = path.join(SANDBOX_RECORDS_DIR, file);
    let record: SandboxRecord;
    try {
      record = JSON.parse(fs.readFileSync(recordFile, 'utf8')) as SandboxRecord;
    } catch {
      fs.rmSync(recordFile, { force: true });
      continue;
    }
    const ours = runnerPid !== undefined && (record.runnerPid === runnerPid || record.ownerPid === runnerPid);
    if (!ours && isProcessAlive(record.ownerPid)) continue;
    reapSync(record.home);
    reaped++;
  }
  return reaped;
}

// The daemon first, and gone, so it cannot restart the apps we kill next; the apps gone before
// the folder is deleted, so that none of them writes into it again.
function reapSync(home: string): void {
  const daemonPid = readPid(path.join(home, 'pm2.pid'));
  if (daemonPid !== undefined) killAndWait([daemonPid]);
  killAndWait(readPids(home));
  removeHome(home);
}

/**
 * SIGKILLs `pids` and blocks until they are gone, at most `timeoutMs`. Synchronous for the exit
 * hook and the globalTeardown. Needed because the signal is only the start: the process runs on
 * until the kernel has torn it down (its threads, its memory), which under load takes a while.
 */
function killAndWait(pids: readonly number[], timeoutMs = 10000): void {
  for (const pid of pids) signal(pid, 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  // No event tells another process's end, only polling does; Atomics.wait is a blocking sleep.
  while (pids.some(isProcessAlive) && Date.now() < deadline) Atomics.wait(sleeper, 0, 0, 10);
}

function removeHome(home: string): void {
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(recordPath(home), { force: true });
}

function recordPath(home: string): string {
  return path.join(SANDBOX_RECORDS_DIR, `${path.basename(home)}.json`);
}

// Outside jest this covers a script that exits without afterAll. Inside jest `process` is a copy
// whose 'exit' never fires, which is why there is also a watchdog and the globalTeardown.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const home of liveHomes) reapSync(home);
  });
}

/**
 * A detached shell that outlives a killed test process (Ctrl-C, a jest worker SIGKILLed on
 * timeout): once the owner is gone and the folder still exists, it SIGKILLs the daemon and apps.
 */
function startWatchdog(home: string, record: string): number | undefined {
  const script = [
    'while kill -0 "$OWNER" 2>/dev/null && [ -d "$SANDBOX" ]; do sleep 1; done',
    '[ -d "$SANDBOX" ] || exit 0',
    'for f in "$SANDBOX"/pm2.pid "$SANDBOX"/pids/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done',
    'rm -rf "$SANDBOX" "$RECORD"',
  ].join('\n');
  try {
    const child = spawn('sh', ['-c', script], {
      detached: true,
      stdio: 'ignore',
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        OWNER: String(process.pid),
        SANDBOX: home,
        RECORD: record,
      },
    });
    child.unref();
    return child.pid;
  } catch {
    return undefined; // best effort: afterAll and the globalTeardown still reap
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function readPids(home: string): number[] {
  const dir = path.join(home, 'pids');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => readPid(path.join(dir, f)))
    .filter((pid): pid is number => pid !== undefined);
}

/** True while `pid` runs; a zombie (killed, not yet reaped by its parent) counts as gone. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!HAS_PROC) return true; // macOS: trust kill(0)
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false; // reaped between kill(0) and the read
  }
  // "<pid> (<comm>) <state> …", comm may hold ')'. A daemon's orphans are reparented to PID 1,
  // which in a container may never reap them: Z (zombie) and X (being released) are gone.
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state !== 'Z' && state !== 'X';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

interface RawProc {
  name: string;
  pid: number;
  pm_id: number;
  pm2_env: {
    status: string;
    restart_time?: number;
    unstable_restarts?: number;
    exit_code?: number;
    pm_uptime?: number;
    created_at?: number;
    env?: Record<string, unknown>;
    axm_monitor?: Record<string, { value?: unknown }>;
  };
}

function toProc(raw: RawProc): Pm2Proc {
  const e = raw.pm2_env;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(e.env ?? {})) if (typeof value === 'string') env[key] = value;
  const metrics: Record<string, number | string> = {};
  for (const [key, metric] of Object.entries(e.axm_monitor ?? {})) {
    if (typeof metric.value === 'number' || typeof metric.value === 'string') metrics[key] = metric.value;
  }
  return {
    name: raw.name,
    metrics,
    pm_id: raw.pm_id,
    pid: raw.pid ?? 0,
    status: e.status,
    restart_time: e.restart_time ?? 0,
    unstable_restarts: e.unstable_restarts ?? 0,
    ...(typeof e.exit_code === 'number' ? { exit_code: e.exit_code } : {}),
    pm_uptime: e.pm_uptime ?? 0,
    created_at: e.created_at ?? 0,
    env,
  };
}
