import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai';
import { startFakeTelegram, type FakeTelegram } from './fake-telegram';
import { startPm2Sandbox, type Pm2Sandbox } from './pm2-sandbox';
import { runCli, type CliResult } from './run-cli';
import { workerEnv } from './worker-env';

export type { CliResult };

const REPO = path.resolve(__dirname, '..', '..');

/** The built apps under a sandboxed PM2, the fakes they talk to, their database and the CLI. */
export interface Pm2World {
  readonly telegram: FakeTelegram;
  readonly openai: FakeOpenAI;
  readonly dbPath: string;
  /** The running sandbox (throws before `start`). */
  readonly pm2: Pm2Sandbox;
  /**
   * Starts the apps (default the worker only) with the fakes' environment, and waits until the
   * worker long-polls: messages pushed before would be pending at a cold start, and the
   * cold-start filter would rightly skip some of them.
   */
  start(
    extra?: Record<string, string>,
    options?: { only?: string[]; waitPolling?: boolean },
  ): Promise<Pm2Sandbox>;
  /** Inbox rows in id order ([] before the worker created the database). */
  inbox(): InboxRow[];
  /** The built `bin/autonous` on the same database and PM2_HOME as the apps. */
  cli(args: readonly string[]): Promise<CliResult>;
}

/** One inbox row, as the e2e tests look at it. */
export interface InboxRow {
  readonly id: number;
  readonly update_id: number;
  readonly chat_id: number;
  readonly text: string | null;
  readonly status: string;
  readonly attempts: number;
  readonly error: string | null;
}

/**
 * Registers beforeEach/afterEach giving every test fresh fakes, a temp database and its own PM2
 * daemon, killed after the test even when it failed. Read the fields inside tests only.
 */
export function usePm2World(): Pm2World {
  let dir = '';
  let telegram: FakeTelegram | undefined;
  let openai: FakeOpenAI | undefined;
  let sandbox: Pm2Sandbox | undefined;
  const world: Pm2World = {
    get telegram() {
      return telegram!;
    },
    get openai() {
      return openai!;
    },
    get dbPath() {
      return path.join(dir, 'agent.db');
    },
    get pm2() {
      if (!sandbox) throw new Error('start() the PM2 world first');
      return sandbox;
    },
    async start(extra = {}, options = {}) {
      sandbox = await startPm2Sandbox({
        env: workerEnv(telegram!, openai!, world.dbPath, extra),
        only: options.only ?? ['autonous-worker'],
      });
      if (options.waitPolling ?? true) {
        await telegram!.waitFor(
          () => telegram!.callsOf('getUpdates').some((c) => Number(c.params.timeout) > 0),
          20_000,
          'the worker long-polling',
        );
      }
      return sandbox;
    },
    inbox() {
      if (!fs.existsSync(world.dbPath)) return [];
      const db = new Database(world.dbPath, { readonly: true, fileMustExist: true });
      try {
        return db
          .prepare('SELECT id, update_id, chat_id, text, status, attempts, error FROM inbox ORDER BY id')
          .all() as InboxRow[];
      } finally {
        db.close();
      }
    },
    cli(args) {
      return runCli(args, {
        HOME: dir,
        TG_DB_PATH: world.dbPath,
        PM2_HOME: sandbox?.home ?? path.join(dir, 'no-pm2'),
      });
    },
  };
  beforeAll(() => {
    if (!fs.existsSync(path.join(REPO, 'dist', 'worker', 'main.js'))) {
      throw new Error('dist/ is missing: build first (npm run build).');
    }
  });
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-e2e-'));
    telegram = await startFakeTelegram();
    openai = await startFakeOpenAI();
  });
  afterEach(async () => {
    await sandbox?.kill();
    sandbox = undefined;
    await telegram?.close();
    await openai?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return world;
}

/** SIGKILLs app `name` (it must be running now) and waits for the new process PM2 starts. */
export async function killAndRespawn(sandbox: Pm2Sandbox, name: string): Promise<void> {
  const pid = await sandbox.killProcess(name, 'SIGKILL');
  await sandbox.waitFor(
    (ps) => ps.some((p) => p.name === name && p.pid > 0 && p.pid !== pid),
    20_000,
    `a new ${name}`,
  );
}
