/**
 * The world of the security suite: the real worker started in-process against the fake Telegram
 * and OpenAI servers, laid out as a deployment lays it out, and never under /tmp. A command in
 * bwrap has a private /tmp, so a secret, a state folder or a socket kept there is invisible to it
 * by accident and an attack on it "fails" on broken code too. Here everything lives under
 * /var/tmp/autonous-sec-XXXXXX, the home folder (os.homedir()) or /run:
 *
 *   <base>/checkout            AUTONOUS_HOME (the checkout the worker runs from)
 *   <base>/state/agent.db      TG_DB_PATH (the state folder)
 *   <base>/secrets/autonous.env  AUTONOUS_ENV_FILE: the bot token, the API key and a canary
 *   <base>/workspaces          AGENT_WORKSPACES (projects)
 *   <base>/outside             where an escaping command would leave its markers
 *   ~/.autonous-sec-XXXXXX/pm2 a fake PM2_HOME (dump.pm2 with a canary; sockets when a test listens)
 *
 * The token and key reach the worker only through the env file, as in production. Everything a
 * world created (folders, files in the home folder, socket servers, workers, fakes, the process
 * environment and cwd it changed) is removed or restored after each test, also when it failed.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { loadWorkerConfig } from '../../src/shared/config';
import { loadEnvironment } from '../../src/shared/env';
import { startWorker, type WorkerHandle } from '../../src/worker/app';
import { startFakeOpenAI, type ChatCompletionRequest, type FakeOpenAI } from './fake-openai';
import { startFakeTelegram, type FakeTelegram, type SentMessage } from './fake-telegram';
import { waitUntil } from './wait-until';
import { captureLog, type CapturedLog } from './worker-harness';
import { workerEnv } from './worker-env';

/** The chat every security test talks in (allowed, and its user is an approver). */
export const CHAT = 101;

/** A unix socket server a test listens on; counts who connected. */
export interface Listener {
  readonly path: string;
  readonly connections: () => number;
}

/** One test's world; read its fields inside tests only. */
export interface SecurityWorld {
  /** Real path of /var/tmp/autonous-sec-XXXXXX. */
  readonly base: string;
  readonly checkout: string;
  readonly stateDir: string;
  readonly dbPath: string;
  /** The real env file (its real path). */
  readonly envFile: string;
  readonly workspaces: string;
  /** Where markers of an escape would appear (outside every project). */
  readonly outside: string;
  /** ~/.autonous-sec-XXXXXX: this test's folder in the real home folder. */
  readonly homeDir: string;
  readonly pm2Home: string;
  readonly token: string;
  readonly apiKey: string;
  /** A value only the env file holds (no redaction knows it): seen anywhere means the file was read. */
  readonly canary: string;
  /** A value only the fake PM2_HOME's dump.pm2 holds. */
  readonly pm2Canary: string;
  readonly telegram: FakeTelegram;
  readonly openai: FakeOpenAI;
  readonly log: CapturedLog;
  /** The real path of a project of the workspaces folder (created, empty, when `create`). */
  project(name?: string, create?: boolean): string;
  /** The environment the worker process would get (before the env file fills it). */
  env(extra?: Record<string, string | undefined>): Record<string, string>;
  /** Starts the real worker with `env(extra)` read as main.ts reads it. */
  start(extra?: Record<string, string | undefined>): Promise<WorkerHandle>;
  rows(sql: string, ...params: unknown[]): Record<string, unknown>[];
  /** Waits until no inbox item is queued, processing or failed. */
  settled(timeoutMs?: number): Promise<void>;
  /** Listens on a unix socket at `socketPath` (its folder created); closed and removed after the test. */
  listen(socketPath: string): Promise<Listener>;
  /** A path removed after the test (a file placed in the home folder, a folder under /run). */
  removeAfter(p: string): string;
  /** Runs `fn` when the test ends, before the worker stops and the folders are removed. */
  onCleanup(fn: () => void | Promise<void>): void;
  /**
   * From the end of the test until its worker has stopped, kills every process whose command line
   * holds `marker` (a hung filter spawns again for the next file once the last one was killed), or
   * every process working in this world's folders when `marker` is omitted.
   */
  killWhenDone(marker?: string): void;
  /** Where secrets (token, key, env-file canary, dump.pm2 canary) appear: '' when nowhere. */
  leaks(secrets?: readonly string[]): string;
}

/** The tool results of a recorded request, in order. */
export function toolResults(req: ChatCompletionRequest): string[] {
  return req.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
}

/**
 * Registers beforeEach/afterEach that give every test its own world (see the file's comment).
 * The folders, env file and fakes exist from the start of each test; the worker starts on `start`.
 */
export function useSecurityWorld(): SecurityWorld {
  let state: WorldState | undefined;
  const need = (): WorldState => {
    if (!state) throw new Error('the security world is only there inside a test');
    return state;
  };

  const world: SecurityWorld = {
    get base() {
      return need().base;
    },
    get checkout() {
      return path.join(need().base, 'checkout');
    },
    get stateDir() {
      return path.join(need().base, 'state');
    },
    get dbPath() {
      return path.join(need().base, 'state', 'agent.db');
    },
    get envFile() {
      return path.join(need().base, 'secrets', 'autonous.env');
    },
    get workspaces() {
      return path.join(need().base, 'workspaces');
    },
    get outside() {
      return path.join(need().base, 'outside');
    },
    get homeDir() {
      return need().homeDir;
    },
    get pm2Home() {
      return path.join(need().homeDir, 'pm2');
    },
    get token() {
      return need().token;
    },
    get apiKey() {
      return need().apiKey;
    },
    get canary() {
      return need().canary;
    },
    get pm2Canary() {
      return need().pm2Canary;
    },
    get telegram() {
      return need().telegram;
    },
    get openai() {
      return need().openai;
    },
    get log() {
      return need().log;
    },
    project(name = 'default', create = false) {
      const dir = path.join(world.workspaces, name);
      if (create) fs.mkdirSync(dir, { recursive: true });
      return dir;
    },
    env(extra = {}) {
      const s = need();
      const env: Record<string, string | undefined> = {
        ...workerEnv(s.telegram, s.openai, world.dbPath),
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: os.homedir(),
        PM2_HOME: world.pm2Home,
        AUTONOUS_HOME: world.checkout,
        AUTONOUS_ENV_FILE: world.envFile,
        AGENT_WORKSPACES: world.workspaces,
        // the secrets come from the env file only, as in a deployment
        TELEGRAM_BOT_TOKEN: undefined,
        OPENAI_API_KEY: undefined,
        ...extra,
      };
      const out: Record<string, string> = {};
      for (const [name, value] of Object.entries(env)) if (value !== undefined) out[name] = value;
      return out;
    },
    async start(extra = {}) {
      const s = need();
      const config = loadWorkerConfig(loadEnvironment(world.env(extra)));
      const worker = await startWorker(config, { log: s.log });
      s.workers.push(worker);
      return worker;
    },
    rows(sql, ...params) {
      const db = new Database(world.dbPath, { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...params) as Record<string, unknown>[];
      } finally {
        db.close();
      }
    },
    async settled(timeoutMs = 15_000) {
      await waitUntil(
        () =>
          world.rows(`SELECT 1 FROM inbox WHERE status IN ('queued', 'processing', 'failed')`).length === 0,
        timeoutMs,
        () =>
          `inbox not settled after ${timeoutMs} ms: ${JSON.stringify(world.rows('SELECT id, status FROM inbox'))}`,
      );
    },
    async listen(socketPath) {
      const s = need();
      fs.mkdirSync(path.dirname(socketPath), { recursive: true });
      let connections = 0;
      const sockets = new Set<net.Socket>();
      const server = net.createServer((socket) => {
        connections++;
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
        socket.end('hello from a daemon\n');
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => resolve());
      });
      s.cleanups.push(async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        fs.rmSync(socketPath, { force: true });
      });
      return { path: socketPath, connections: () => connections };
    },
    removeAfter(p) {
      need().removals.push(p);
      return p;
    },
    onCleanup(fn) {
      need().cleanups.push(fn);
    },
    killWhenDone(marker) {
      const s = need();
      const kill = (): void => {
        if (marker !== undefined) killAll(marker);
        else killPids(pidsWorkingIn(s.base));
      };
      s.cleanups.push(() => {
        kill();
        const timer = setInterval(kill, 25);
        s.finally.push(() => {
          clearInterval(timer);
          kill();
        });
      });
    },
    leaks(secrets) {
      const s = need();
      const wanted = secrets ?? [s.token, s.apiKey, s.canary, s.pm2Canary];
      const places: [string, string][] = [];
      s.openai.requests.forEach((r, i) => places.push([`model request ${i + 1}`, JSON.stringify(r.body)]));
      for (const m of s.telegram.sent) places.push([`chat message ${m.messageId}`, m.text]);
      for (const e of s.telegram.edits) places.push([`edit of message ${e.messageId}`, e.text]);
      for (const d of s.telegram.drafts) places.push([`draft ${d.draftId}`, d.text]);
      for (const d of s.telegram.documents) {
        places.push([`document ${d.filename}`, `${d.caption ?? ''}\n${d.content.toString('utf8')}`]);
      }
      if (fs.existsSync(world.dbPath)) {
        const tables = world.rows(`SELECT name FROM sqlite_master WHERE type = 'table'`);
        for (const { name } of tables) {
          places.push([
            `table ${String(name)}`,
            JSON.stringify(world.rows(`SELECT * FROM "${String(name)}"`)),
          ]);
        }
      }
      // the captured log is not redacted as the real one is: only what no redaction knows counts there
      places.push(['worker log', s.log.lines.join('\n').split(s.token).join('').split(s.apiKey).join('')]);
      const found: string[] = [];
      for (const [where, text] of places) {
        for (const secret of wanted) {
          if (text.includes(secret)) found.push(`${where} holds ${describeSecret(s, secret)}`);
        }
      }
      return found.join('; ');
    },
  };

  beforeEach(async () => {
    const base = fs.realpathSync(fs.mkdtempSync('/var/tmp/autonous-sec-'));
    const homeDir = fs.mkdtempSync(path.join(os.homedir(), '.autonous-sec-'));
    const s: WorldState = {
      base,
      homeDir,
      token: `${100_000_000 + Math.floor(Math.random() * 800_000_000)}:AA${randomBytes(24).toString('hex')}`,
      apiKey: `sk-sec-${randomBytes(18).toString('hex')}`,
      canary: `envcanary${randomBytes(8).toString('hex')}`,
      pm2Canary: `pm2canary${randomBytes(8).toString('hex')}`,
      telegram: undefined as unknown as FakeTelegram,
      openai: undefined as unknown as FakeOpenAI,
      log: captureLog(),
      workers: [],
      cleanups: [],
      removals: [],
      finally: [],
      envBefore: { PM2_HOME: process.env.PM2_HOME },
      cwdBefore: process.cwd(),
    };
    state = s;
    for (const dir of ['checkout', 'state', 'secrets', 'workspaces', 'outside']) {
      fs.mkdirSync(path.join(base, dir), { recursive: true });
    }
    fs.writeFileSync(path.join(base, 'checkout', 'package.json'), '{"name":"autonous"}\n');
    fs.writeFileSync(
      world.envFile,
      `TELEGRAM_BOT_TOKEN=${s.token}\nOPENAI_API_KEY=${s.apiKey}\nAUTONOUS_SEC_CANARY=${s.canary}\n`,
      { mode: 0o600 },
    );
    fs.mkdirSync(world.pm2Home, { recursive: true });
    fs.writeFileSync(
      path.join(world.pm2Home, 'dump.pm2'),
      JSON.stringify([{ name: 'autonous-worker', env: { AUTONOUS_SEC_CANARY: s.pm2Canary } }]),
    );
    // PM2 gives its apps PM2_HOME in their environment
    process.env.PM2_HOME = world.pm2Home;
    s.telegram = await startFakeTelegram({ token: s.token });
    s.openai = await startFakeOpenAI();
  });

  afterEach(async () => {
    const s = state;
    if (!s) return;
    const errors: unknown[] = [];
    const attempt = async (fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    };
    // cleanups first: they stop timers that press buttons and kill what a test left running
    for (const fn of s.cleanups.splice(0).reverse()) await attempt(fn);
    for (const worker of s.workers.splice(0)) await attempt(() => worker.stop(1000));
    for (const fn of s.finally.splice(0)) await attempt(fn);
    await attempt(() => s.telegram?.close());
    await attempt(() => s.openai?.close());
    if (process.cwd() !== s.cwdBefore) await attempt(() => process.chdir(s.cwdBefore));
    if (s.envBefore.PM2_HOME === undefined) delete process.env.PM2_HOME;
    else process.env.PM2_HOME = s.envBefore.PM2_HOME;
    for (const p of [...s.removals, s.homeDir, s.base]) {
      await attempt(() => fs.rmSync(p, { recursive: true, force: true }));
    }
    state = undefined;
    if (errors.length > 0) throw errors[0];
  });

  return world;
}

interface WorldState {
  base: string;
  homeDir: string;
  token: string;
  apiKey: string;
  canary: string;
  pm2Canary: string;
  telegram: FakeTelegram;
  openai: FakeOpenAI;
  log: CapturedLog;
  workers: WorkerHandle[];
  cleanups: (() => void | Promise<void>)[];
  removals: string[];
  /** Run after the workers stopped. */
  finally: (() => void)[];
  envBefore: { PM2_HOME: string | undefined };
  cwdBefore: string;
}

function describeSecret(s: WorldState, secret: string): string {
  if (secret === s.token) return 'the bot token';
  if (secret === s.apiKey) return 'the API key';
  if (secret === s.canary) return "the env file's canary";
  if (secret === s.pm2Canary) return "dump.pm2's canary";
  return JSON.stringify(secret.slice(0, 20));
}

// ---- approval cards ---------------------------------------------------------------------------

/** The approval cards sent to the chat, in order. */
export function cards(w: SecurityWorld): SentMessage[] {
  return w.telegram.sentTo(CHAT).filter((m) => /^Approval #\d+: /.test(m.text));
}

/** The buttons a card shows now (none once decided). */
export function buttons(w: SecurityWorld, card: SentMessage): { text: string; data: string }[] {
  return (w.telegram.message(card.chatId, card.messageId)?.keyboard ?? [])
    .flat()
    .map((b) => ({ text: b.text, data: String(b.callback_data) }));
}

/** Presses a card's button by its label, as the chat's user. */
export function press(w: SecurityWorld, card: SentMessage, label: string): void {
  const button = buttons(w, card).find((b) => b.text === label);
  if (button === undefined) throw new Error(`card ${card.messageId} has no live "${label}" button`);
  w.telegram.pushCallbackQuery(card.chatId, card.chatId, card.messageId, button.data);
}

/**
 * Decides every card as it appears with the label `decide` returns for it (undefined: leave it),
 * until the test ends; returns the cards it saw, as they asked (copies taken before the press
 * edits them). Checks every 20 ms (the fake has no card event).
 */
export function decideCards(
  w: SecurityWorld,
  decide: (card: SentMessage, index: number) => string | undefined,
): SentMessage[] {
  const seen: SentMessage[] = [];
  const done = new Set<number>();
  const timer = setInterval(() => {
    // the world may be gone by now (the test ended between two ticks)
    let live: SentMessage[];
    try {
      live = cards(w);
    } catch {
      clearInterval(timer);
      return;
    }
    for (const card of live) {
      if (done.has(card.messageId) || buttons(w, card).length === 0) continue;
      done.add(card.messageId);
      const asked = { ...card };
      seen.push(asked);
      const label = decide(asked, seen.length - 1);
      if (label !== undefined) press(w, card, label);
    }
  }, 20);
  w.onCleanup(() => clearInterval(timer));
  return seen;
}

// ---- runs -------------------------------------------------------------------------------------

/** Pushes `text` and waits for the bot's message that starts with `answerPrefix`. */
export async function ask(
  w: SecurityWorld,
  text: string,
  answerPrefix: string,
  timeoutMs = 30_000,
): Promise<SentMessage> {
  w.telegram.pushMessage(CHAT, text);
  const find = (): SentMessage | undefined =>
    w.telegram.sentTo(CHAT).find((m) => m.text.startsWith(answerPrefix));
  await w.telegram.waitFor(() => find() !== undefined, timeoutMs, `the answer "${answerPrefix}…"`);
  return find()!;
}

/** Every tool result the model was given in the run (from its last request). */
export function lastToolResults(w: SecurityWorld): string[] {
  const last = w.openai.requests.at(-1);
  return last ? toolResults(last.body) : [];
}

/** Pids whose command line holds `marker`. */
export function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const runState = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (cmdline.includes(marker) && runState !== 'Z') out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Pids of `sleep <seconds>` processes (a filter the worker's git started), by their exact argument. */
export function sleepers(seconds: string): number[] {
  return pidsWith(seconds).filter((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return path.basename(argv[0] ?? '') === 'sleep' && argv[1] === seconds;
    } catch {
      return false;
    }
  });
}

/** Pids (not this process) whose working folder is `dir` or below it. */
export function pidsWorkingIn(dir: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) out.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

/** `git` processes working in `dir` (or below), with their arguments. */
export function gitsIn(dir: string): { pid: number; args: string[] }[] {
  const out: { pid: number; args: string[] }[] = [];
  for (const pid of pidsWorkingIn(dir)) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (path.basename(argv[0] ?? '') === 'git') out.push({ pid, args: argv.slice(1) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Kills what is left of processes holding `marker` (after a test that failed). */
export function killAll(marker: string): void {
  killPids(pidsWith(marker));
}

/** git as the test (a person or an auditor) runs it, with the machine's normal configuration. */
export function personGit(root: string, args: readonly string[]): string {
  return execFileSync('git', ['-C', root, '-c', 'user.name=me', '-c', 'user.email=me@x', ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Every object of a repository's database, uncompressed (read with no config that could run
 * anything): what a commit may have copied into the project's history.
 */
export function gitObjects(root: string): Buffer {
  if (!fs.existsSync(path.join(root, '.git'))) return Buffer.alloc(0);
  return execFileSync(
    'git',
    [
      '-c',
      'core.fsmonitor=false',
      '-c',
      'core.hooksPath=/dev/null',
      '--git-dir',
      path.join(root, '.git'),
      'cat-file',
      '--batch-all-objects',
      '--batch',
    ],
    {
      env: { PATH: process.env.PATH ?? '', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
      maxBuffer: 256 * 1024 * 1024,
      timeout: 20_000,
    },
  );
}

/** The files of a folder (symlinks not followed, `.git` skipped), with their contents. */
export function filesBelow(dir: string): { path: string; content: Buffer }[] {
  const out: { path: string; content: Buffer }[] = [];
  const visit = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.git') visit(p);
      } else if (e.isFile()) out.push({ path: p, content: fs.readFileSync(p) });
    }
  };
  visit(dir);
  return out;
}

/** Whether bwrap sandboxes here, with the reason logged once when it does not. */
export function bwrapOr(skipReason: string, works: boolean): boolean {
  if (!works) console.log(`skipping the bwrap variants: ${skipReason}`);
  return works;
}

/** A fresh short random id (for file names and markers). */
export function uid(): string {
  return randomBytes(4).toString('hex');
}
