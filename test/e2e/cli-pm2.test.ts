import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { lastUserText, openAIErrors, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram';
import { startPm2Sandbox, type Pm2Sandbox } from '../helpers/pm2-sandbox';
import { waitUntil } from '../helpers/wait-until';
import { TEST_API_KEY, workerEnv } from '../helpers/worker-env';

// The built CLI beside the built worker running under the real PM2 (a sandboxed PM2_HOME),
// talking to the local fakes: repairs that take effect on the live system, and `status` through
// the pm2 API.

const REPO = path.resolve(__dirname, '..', '..');
const BIN = path.join(REPO, 'bin', 'autonous');
const WORKER = 'autonous-worker';
jest.setTimeout(120_000);

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let dir: string;
let dbPath: string;
let telegram: FakeTelegram;
let openai: FakeOpenAI;
let pm2: Pm2Sandbox | undefined;

beforeAll(() => {
  if (!fs.existsSync(path.join(REPO, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: build first (npm run build).');
  }
});

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-cli-e2e-'));
  dbPath = path.join(dir, 'agent.db');
  telegram = await startFakeTelegram();
  openai = await startFakeOpenAI();
});

afterEach(async () => {
  await pm2?.kill();
  pm2 = undefined;
  await telegram.close();
  await openai.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The CLI as the operator runs it on the machine: the same database and PM2_HOME as the apps. */
function cli(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          AUTONOUS_ENV_FILE: '/dev/null',
          TG_DB_PATH: dbPath,
          PM2_HOME: pm2?.home ?? path.join(dir, 'no-pm2'),
        },
        timeout: 20_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

function inbox(): { id: number; text: string | null; status: string; attempts: number }[] {
  if (!fs.existsSync(dbPath)) return [];
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id, text, status, attempts FROM inbox ORDER BY id').all() as never;
  } finally {
    db.close();
  }
}

async function startWorkerUnderPm2(extra: Record<string, string> = {}): Promise<Pm2Sandbox> {
  pm2 = await startPm2Sandbox({ env: workerEnv(telegram, openai, dbPath, extra), only: [WORKER] });
  await telegram.waitFor(
    () => telegram.callsOf('getUpdates').some((c) => Number(c.params.timeout) > 0),
    20_000,
    'the worker long-polling',
  );
  return pm2;
}

describe('autonous beside the worker under PM2', () => {
  it('queue retry of a dead item while the worker runs → the message is answered', async () => {
    await startWorkerUnderPm2({ WORKER_MAX_ATTEMPTS: '1' });
    const stopFailing = openai.failWhen((req) => lastUserText(req) === 'poison', openAIErrors.serverError());
    telegram.pushMessage(101, 'poison');
    await waitUntil(
      () => inbox().some((r) => r.text === 'poison' && r.status === 'dead'),
      20_000,
      () => `the message dead: ${JSON.stringify(inbox())}`,
    );
    // the worker tells the user it could not answer (after marking the item dead); no answer yet
    await telegram.waitForSent(1, 10_000);
    expect(telegram.sent.map((m) => m.text)).toEqual([expect.stringMatching(/^Sorry, I could not answer/)]);

    const dead = await cli(['queue', 'dead', '--json']);
    expect(dead.code).toBe(0);
    const [item] = JSON.parse(dead.stdout) as { id: number; text: string; errorClass: string }[];
    expect(item).toMatchObject({ text: 'poison', errorClass: 'transient' });

    stopFailing();
    const retry = await cli(['queue', 'retry', String(item!.id)]);
    expect(retry).toMatchObject({ code: 0, stderr: '' });
    expect(retry.stdout).toContain('Requeued 1 item');
    await telegram.waitFor(
      () => telegram.sent.some((m) => m.text === 'echo: poison'),
      20_000,
      'the retried answer',
    );
    await waitUntil(
      () => inbox().some((r) => r.id === item!.id && r.status === 'done'),
      10_000,
      () => `the item done: ${JSON.stringify(inbox())}`,
    );
    expect(telegram.sentTo(101).map((m) => m.text)).toEqual([
      expect.stringMatching(/^Sorry/),
      'echo: poison',
    ]);
  });

  it('status and doctor read the live PM2 daemon through its API', async () => {
    const sandbox = await startWorkerUnderPm2();
    const proc = await sandbox.waitOnline(WORKER);
    telegram.pushMessage(101, 'hello');
    await telegram.waitForSent(1, 20_000);

    const json = await cli(['status', '--json']);
    const status = JSON.parse(json.stdout);
    expect(status.pm2).toMatchObject({ reachable: true, home: sandbox.home, error: null });
    expect(status.pm2.apps).toEqual([
      {
        name: WORKER,
        status: 'online',
        restarts: 0,
        uptimeMs: expect.any(Number),
        memoryBytes: expect.any(Number),
        cpuPercent: expect.any(Number),
        pid: proc.pid,
      },
    ]);
    expect(Date.now() - status.heartbeatAt).toBeLessThan(30_000);
    expect(status.queue.counts.done).toBe(1);
    // only the worker runs in this sandbox: the missing supervisor is what is wrong
    expect(json.code).toBe(1);
    expect(status.problems).toEqual([
      'PM2 has no app autonous-supervisor: start it with `pm2 start ecosystem.config.cjs`.',
    ]);

    const table = await cli(['status']);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(
      new RegExp(`autonous-worker\\s+online\\s+0\\s+\\S+\\s+[\\d.]+ MB\\s+\\S+\\s+${proc.pid}`),
    );
    expect(table.stdout).not.toContain(TEST_API_KEY);
    expect(table.stdout).not.toContain(telegram.token);

    const doctor = JSON.parse((await cli(['doctor', '--json'])).stdout);
    expect(doctor.checks.find((c: { name: string }) => c.name === 'pm2')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('has no autonous-supervisor'),
    });
    // the CLI ended its connection: the worker is still the daemon's only app, untouched
    const after = await sandbox.proc(WORKER);
    expect(after).toMatchObject({ pid: proc.pid, status: 'online', restart_time: 0 });
  });

  it('reads and repairs the queue while the worker writes to it, never "database is locked"', async () => {
    await startWorkerUnderPm2({ WORKER_CONCURRENCY: '3' });
    openai.setLatency(200);
    for (let i = 0; i < 30; i++) telegram.pushMessage(101 + (i % 3), `busy ${i}`);
    const results: CliResult[] = [];
    while (telegram.sent.length < 30) {
      results.push(
        ...(await Promise.all([
          cli(['queue', 'ls', '--json']),
          cli(['queue', 'stats', '--json']),
          cli(['queue', 'purge', '--status', 'done', '--older-than', '1d']),
        ])),
      );
      if (results.length > 300) break;
    }
    await telegram.waitForSent(30, 30_000);
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) expect(r).toMatchObject({ code: 0, stderr: '' });
  });
});
