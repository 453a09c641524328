import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram';
import { startPm2Sandbox, type Pm2Sandbox } from '../helpers/pm2-sandbox';
import { TEST_API_KEY, workerEnv } from '../helpers/worker-env';

// The built worker (dist/) under the real PM2, talking to the local fakes over HTTP.

const WORKER = 'autonous-worker';
jest.setTimeout(120_000);

let dir: string;
let dbPath: string;
let telegram: FakeTelegram;
let openai: FakeOpenAI;
let pm2: Pm2Sandbox | undefined;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-e2e-'));
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

/**
 * Starts the worker and waits until it long-polls: messages pushed before that would be pending
 * at a cold start, and the cold-start filter would rightly skip some of them.
 */
async function startWorkerUnderPm2(
  extra: Record<string, string> = {},
  waitPolling = true,
): Promise<Pm2Sandbox> {
  pm2 = await startPm2Sandbox({ env: workerEnv(telegram, openai, dbPath, extra), only: [WORKER] });
  if (waitPolling) {
    await telegram.waitFor(
      () => telegram.callsOf('getUpdates').some((c) => Number(c.params.timeout) > 0),
      20_000,
      'the worker long-polling',
    );
  }
  return pm2;
}

function inbox(): {
  update_id: number;
  chat_id: number;
  status: string;
  attempts: number;
  error: string | null;
}[] {
  if (!fs.existsSync(dbPath)) return [];
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('SELECT update_id, chat_id, status, attempts, error FROM inbox ORDER BY update_id')
      .all() as never;
  } finally {
    db.close();
  }
}

/** Replies per user message text, to count answers and duplicates. */
function answerCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of telegram.sent) counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
  return counts;
}

describe('worker under PM2', () => {
  it('WORKER_SUICIDE_EVERY=2: 20 messages answered exactly once across at least 9 restarts', async () => {
    const sandbox = await startWorkerUnderPm2({ WORKER_SUICIDE_EVERY: '2' });
    const texts = Array.from({ length: 20 }, (_, i) => `suicide ${i}`);
    for (const text of texts) telegram.pushMessage(101, text);
    await telegram.waitFor(() => answerCounts().size >= 20, 90_000, '20 distinct answers');
    const counts = answerCounts();
    for (const text of texts) expect(counts.get(`echo: ${text}`)).toBe(1);
    expect(telegram.sent.map((m) => m.text)).toEqual(texts.map((t) => `echo: ${t}`));
    const proc = await sandbox.waitFor(
      (ps) => ps.some((p) => p.name === WORKER && p.restart_time >= 9),
      20_000,
      '9 restarts',
    );
    expect(proc.find((p) => p.name === WORKER)!.restart_time).toBeGreaterThanOrEqual(9);
    expect(openai.requests).toHaveLength(20);
  });

  it('SIGKILL between batches: PM2 restarts the worker, nothing lost, nothing answered twice', async () => {
    const sandbox = await startWorkerUnderPm2();
    await sandbox.waitOnline(WORKER);
    for (let i = 0; i < 5; i++) telegram.pushMessage(101, `before ${i}`);
    await telegram.waitForSent(5, 20_000);
    const pid = await sandbox.killProcess(WORKER, 'SIGKILL');
    for (let i = 0; i < 5; i++) telegram.pushMessage(102, `after ${i}`);
    await sandbox.waitFor(
      (ps) => ps.some((p) => p.name === WORKER && p.pid > 0 && p.pid !== pid),
      20_000,
      'a new worker',
    );
    await telegram.waitForSent(10, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(telegram.sent).toHaveLength(10);
    expect([...answerCounts().values()].every((n) => n === 1)).toBe(true);
    expect(inbox().every((r) => r.status === 'done')).toBe(true);
  });

  it('chaos: 3 chats × 10 messages under random SIGKILLs, every message answered in order per chat', async () => {
    openai.setLatency(200);
    const sandbox = await startWorkerUnderPm2({ WORKER_CONCURRENCY: '3', WORKER_MAX_ATTEMPTS: '20' });
    await sandbox.waitOnline(WORKER);
    const chats = [101, 102, 103];
    for (let i = 0; i < 10; i++) for (const chat of chats) telegram.pushMessage(chat, `chat ${chat} #${i}`);
    let kills = 0;
    let stop = false;
    // PM2's restart backoff grows ×1.5 per restart (100 ms … 15 s) and only resets after 30 s of
    // uptime, so the kills are bounded: 12 of them already cost ~13 s of restart delays.
    const MAX_KILLS = 12;
    const killer = (async () => {
      while (!stop && kills < MAX_KILLS) {
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
        if (stop) break;
        const pid = await sandbox.pid(WORKER);
        if (pid !== undefined) {
          try {
            process.kill(pid, 'SIGKILL');
            kills++;
          } catch {
            // already gone
          }
        }
      }
    })();
    try {
      await telegram.waitFor(() => answerCounts().size >= 30, 100_000, 'all 30 answered');
    } finally {
      stop = true;
      await killer;
    }
    const counts = answerCounts();
    const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
    console.log(
      `chaos: ${kills} SIGKILLs, 30 messages, ${telegram.sent.length} replies sent, ${duplicates} duplicates`,
    );
    for (const chat of chats) {
      const distinct = [...new Set(telegram.sentTo(chat).map((m) => m.text))];
      expect(distinct).toEqual(Array.from({ length: 10 }, (_, i) => `echo: chat ${chat} #${i}`));
    }
    expect(kills).toBeGreaterThan(3);
    // A duplicate is only possible in the window between Telegram accepting a part and the
    // worker recording it: at most one per kill.
    expect(duplicates).toBeLessThanOrEqual(kills);
  });

  it('a message that crashes the worker ends dead; the worker stays online and answers the rest', async () => {
    const sandbox = await startWorkerUnderPm2({ WORKER_TEST_TRIGGERS: '1', WORKER_MAX_ATTEMPTS: '3' });
    telegram.pushMessage(101, '/__crash');
    telegram.pushMessage(101, 'next in line');
    telegram.pushMessage(102, 'other chat');
    await telegram.waitFor(
      () =>
        telegram.sentTo(101).some((m) => m.text === 'echo: next in line') && telegram.sentTo(102).length > 0,
      60_000,
      'the other messages answered',
    );
    expect(inbox()[0]).toMatchObject({ status: 'dead', attempts: 3 });
    expect(telegram.sentTo(101)[0]!.text).toMatch(/could not answer this message/);
    expect(telegram.sentTo(102).map((m) => m.text)).toEqual(['echo: other chat']);
    const proc = await sandbox.waitOnline(WORKER);
    expect(proc.restart_time).toBeGreaterThanOrEqual(3);
  });

  it('keeps both secrets out of PM2 logs, the database and the process output', async () => {
    openai.failNext({ status: 500, error: { message: `leaked ${TEST_API_KEY}`, type: 'server_error' } }, 2);
    telegram.failNext('getUpdates', {
      httpStatus: 502,
      body: `bad gateway /bot${telegram.token}/getUpdates`,
    });
    const sandbox = await startWorkerUnderPm2({ WORKER_MAX_ATTEMPTS: '2', LOG_LEVEL: 'debug' });
    telegram.pushMessage(101, 'one');
    telegram.pushMessage(102, 'two');
    await telegram.waitFor(
      () => inbox().filter((r) => r.status === 'done' || r.status === 'dead').length === 2,
      30_000,
      'settled',
    );
    await sandbox.pm2(['stop', WORKER]);
    const { out, err } = sandbox.logs();
    expect(out + err).toContain('attempt failed');
    const files = [dbPath, `${dbPath}-wal`].filter((f) => fs.existsSync(f));
    const db = files.map((f) => fs.readFileSync(f).toString('latin1')).join('');
    for (const secret of [telegram.token, TEST_API_KEY]) {
      expect(out.includes(secret) || err.includes(secret)).toBe(false);
      expect(db.includes(secret)).toBe(false);
    }
  });

  it('stops without a restart loop when a secret is missing, naming the variable', async () => {
    const sandbox = await startWorkerUnderPm2({ OPENAI_API_KEY: '' }, false);
    // With a restart backoff PM2 shows "waiting restart", but stop_exit_codes means it never does
    await sandbox.waitFor(
      (ps) => ps.some((p) => p.name === WORKER && p.exit_code === 78 && p.pid === 0),
      20_000,
      'exit 78',
    );
    await new Promise((r) => setTimeout(r, 1500));
    const proc = await sandbox.proc(WORKER);
    expect(proc).toMatchObject({ restart_time: 0, pid: 0, exit_code: 78 });
    expect(sandbox.logs().err).toContain('OPENAI_API_KEY is not set');
  });

  it('pm2 stop lets the message in flight finish and the worker exits 0', async () => {
    openai.setLatency(1500);
    const sandbox = await startWorkerUnderPm2();
    telegram.pushMessage(101, 'finish me');
    await openai.waitFor(() => openai.requests.length === 1, 10_000, 'the model call');
    await sandbox.pm2(['stop', WORKER]);
    expect(telegram.sent.map((m) => m.text)).toEqual(['echo: finish me']);
    expect(await sandbox.proc(WORKER)).toMatchObject({ status: 'stopped', exit_code: 0 });
    expect(inbox()).toEqual([expect.objectContaining({ status: 'done', attempts: 1 })]);
  });
});
