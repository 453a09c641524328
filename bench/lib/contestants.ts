// The bots the side-by-side benchmark compares, each with its own fake Telegram and fake OpenAI
// (the same code for all): the two baselines as plain child processes, autonous as the built
// apps under a real PM2 with its own PM2_HOME and database.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/helpers/fake-openai';
import { startFakeTelegram, type FakeTelegram } from '../../test/helpers/fake-telegram';
import { isProcessAlive, startPm2Sandbox, type Pm2Sandbox } from '../../test/helpers/pm2-sandbox';
import { TEST_API_KEY, workerEnv } from '../../test/helpers/worker-env';
import { watchReplies, type ReplyProbe } from './reply-probe';

/** The repository root (this file runs from dist-bench/bench/lib). */
export const REPO = path.resolve(__dirname, '..', '..', '..');
const ECOSYSTEM = path.join(REPO, 'ecosystem.config.cjs');
const WORKER_APP = 'autonous-worker';
const SUPERVISOR_APP = 'autonous-supervisor';

/** One bot in the comparison and the fakes only it talks to. */
export interface Contestant {
  /** Column heading, e.g. `autonous c=8`. */
  readonly name: string;
  /** How many messages it works on at once, for the slow model's ideal makespan. */
  readonly lanes: number;
  readonly telegram: FakeTelegram;
  readonly openai: FakeOpenAI;
  readonly replies: ReplyProbe;
  /** The bot's process now (autonous: the worker, which PM2 replaces after a crash). */
  pid(): number | undefined;
  /** Other processes of this contestant whose memory is reported (supervisor, PM2 daemon). */
  helperPids(): ReadonlyMap<string, number | undefined>;
  /** The PM2 sandbox, for autonous only. */
  readonly pm2?: Pm2Sandbox;
  /** Drops what the fakes recorded so far, so that a long run's memory stays flat. */
  forgetRecorded(): void;
  /** Stops the bot and its fakes; idempotent. */
  stop(): Promise<void>;
}

/** Options of `startAutonous`. */
export interface AutonousOptions {
  readonly name: string;
  readonly concurrency: number;
  readonly allowedChats: readonly number[];
  /** The database file (its folder also holds `releases/`). */
  readonly dbPath: string;
  /** Start the supervisor too (the whole ecosystem). */
  readonly withSupervisor?: boolean;
}

async function startFakes(): Promise<{ telegram: FakeTelegram; openai: FakeOpenAI; replies: ReplyProbe }> {
  const telegram = await startFakeTelegram();
  const openai = await startFakeOpenAI({ apiKey: TEST_API_KEY });
  return { telegram, openai, replies: watchReplies(telegram) };
}

/** Resolves once the bot holds a long poll on its fake, i.e. it is ready for messages. */
export function waitPolling(telegram: FakeTelegram, timeoutMs = 60_000): Promise<void> {
  return telegram.waitFor(
    () => telegram.callsOf('getUpdates').some((c) => Number(c.params.timeout) > 0),
    timeoutMs,
    'the bot long-polling',
  );
}

/** Starts a baseline bot (`dist-bench/bench/baselines/<file>.js`) as its own node process. */
export async function startBaseline(name: string, file: string, lanes: number): Promise<Contestant> {
  const { telegram, openai, replies } = await startFakes();
  const script = path.join(__dirname, '..', 'baselines', `${file}.js`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_API_ROOT: telegram.url,
    OPENAI_API_KEY: TEST_API_KEY,
    OPENAI_CHAT_COMPLETIONS_URL: openai.chatCompletionsUrl,
  };
  const child: ChildProcess = spawn(
    process.execPath,
    ['--require', path.join(__dirname, 'exit-with-parent.js'), script],
    { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    await telegram.close();
    await openai.close();
  };
  child.once('exit', (code, signal) => {
    if (!stopped) console.error(`${name} exited (${signal ?? code}); its stderr:\n${stderr}`);
  });
  try {
    await waitPolling(telegram);
  } catch (err) {
    await stop();
    throw new Error(`${name} did not start: ${(err as Error).message}\n${stderr}`);
  }
  return {
    name,
    lanes,
    telegram,
    openai,
    replies,
    pid: () => (child.exitCode === null ? child.pid : undefined),
    helperPids: () => new Map(),
    forgetRecorded() {
      replies.forgetRecorded();
      openai.requests.splice(0);
    },
    stop,
  };
}

/**
 * Starts the built worker (and with `withSupervisor` the supervisor) under a PM2 of its own, as
 * `npm start` would, at production settings except the chats it answers.
 */
export async function startAutonous(options: AutonousOptions): Promise<Contestant> {
  const { telegram, openai, replies } = await startFakes();
  const env = workerEnv(telegram, openai, options.dbPath, {
    TG_ALLOWED_CHAT_IDS: options.allowedChats.join(','),
    WORKER_CONCURRENCY: String(options.concurrency),
    // production values instead of the tests' short ones
    TG_TIMEOUT: '30',
    TG_SLEEP_SECONDS: '1',
    WORKER_RETRY_BASE_SECONDS: '5',
    WORKER_RETRY_MAX_SECONDS: '600',
    // The SIGKILL workload kills the worker five times, seconds apart: each kill must be a first
    // crash after a long uptime for PM2 (whose restart delay otherwise grows 1.5× per crash
    // until the app has run 30 s) and for the supervisor (which would call it a crash loop).
    EXP_BACKOFF_RESET_TIMER: '2000',
    PM2_WORKER_INTERVAL: '1000',
    SUPERVISOR_MIN_UPTIME_SECONDS: '1',
  });
  const only = options.withSupervisor ? [WORKER_APP, SUPERVISOR_APP] : [WORKER_APP];
  let sandbox: Pm2Sandbox;
  try {
    sandbox = await startPm2Sandbox({ env, only, ecosystem: ECOSYSTEM });
    await waitPolling(telegram);
  } catch (err) {
    await telegram.close();
    await openai.close();
    throw err;
  }
  let stopped = false;
  return {
    name: options.name,
    lanes: options.concurrency,
    telegram,
    openai,
    replies,
    pm2: sandbox,
    pid: () => appPid(sandbox.home, WORKER_APP),
    helperPids: () => {
      const pids = new Map<string, number | undefined>();
      if (options.withSupervisor) pids.set('supervisor', appPid(sandbox.home, SUPERVISOR_APP));
      pids.set('pm2 daemon', readPid(path.join(sandbox.home, 'pm2.pid')));
      return pids;
    },
    forgetRecorded() {
      replies.forgetRecorded();
      openai.requests.splice(0);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await sandbox.kill();
      await telegram.close();
      await openai.close();
    },
  };
}

/** The running pid of a PM2 app from its pid file (no `pm2 jlist`: that costs a CPU-second). */
function appPid(home: string, app: string): number | undefined {
  const dir = path.join(home, 'pids');
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.startsWith(`${app}-`) && f.endsWith('.pid'));
  } catch {
    return undefined;
  }
  for (const file of files) {
    const pid = readPid(path.join(dir, file));
    if (pid !== undefined && isProcessAlive(pid)) return pid;
  }
  return undefined;
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The restart delays PM2 chose for the worker, from its daemon log (`will restart in N ms`). */
export function restartDelaysMs(sandbox: Pm2Sandbox): number[] {
  let log: string;
  try {
    log = fs.readFileSync(path.join(sandbox.home, 'pm2.log'), 'utf8');
  } catch {
    return [];
  }
  const pattern = new RegExp(`App \\[${WORKER_APP}:\\d+\\] will restart in (\\d+)ms`, 'g');
  return [...log.matchAll(pattern)].map((m) => Number(m[1]));
}
