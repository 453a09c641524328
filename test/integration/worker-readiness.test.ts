import { openDatabase } from '../../src/db/open';
import { loadWorkerConfig } from '../../src/shared/config';
import { HEARTBEAT_ROW, KV, parseReadiness, SELFTEST_KIND, type Readiness } from '../../src/shared/contracts';
import { startWorker, type WorkerHandle } from '../../src/worker/app';
import { telegramErrors } from '../helpers/fake-telegram';
import { waitUntil } from '../helpers/wait-until';
import { workerEnv } from '../helpers/worker-env';
import { useWorkerHarness } from '../helpers/worker-harness';

// The real worker in this process, with the fake Telegram and model servers and a real SQLite
// file: what it reports of its readiness in its own supervisor_state row, for the supervisor.

const h = useWorkerHarness();
const CANDIDATE = 'r7-abcdef0';

/** The worker row's readiness and ready_at, as the supervisor reads them. */
function reported(): { readiness: Readiness | null; readyAt: number | null } {
  const row = h.rows('SELECT readiness, ready_at FROM supervisor_state WHERE name = ?', HEARTBEAT_ROW)[0];
  return {
    readiness: parseReadiness(row?.readiness as string | null | undefined),
    readyAt: (row?.ready_at as number | null | undefined) ?? null,
  };
}

function whenReady(timeoutMs = 10_000): Promise<void> {
  return waitUntil(
    () => reported().readyAt !== null,
    timeoutMs,
    () => `never ready: ${JSON.stringify(reported())}`,
  );
}

function selftestRows(): Record<string, unknown>[] {
  return h.rows(
    'SELECT id, update_id, chat_id, text, lane, status, attempts, finished_at FROM inbox WHERE kind = ?',
    SELFTEST_KIND,
  );
}

/** Writes into the worker's database before it starts, as the supervisor and an earlier start would. */
function seed(sql: string, ...params: unknown[]): void {
  const db = openDatabase(h.dbPath);
  try {
    db.sqlite.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

function addRevision(id: string, status: string): void {
  seed(
    `INSERT INTO supervisor_revisions (id, path, status, created_at) VALUES (?, '/srv/releases/x', ?, ?)`,
    id,
    status,
    Date.now(),
  );
}

describe('worker readiness', () => {
  const workers: WorkerHandle[] = [];
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop(1000);
  });

  /** Starts a worker that believes it runs `revision` (its release folder is not read). */
  async function startAs(revision: string | null, env: Record<string, string> = {}): Promise<WorkerHandle> {
    const config = loadWorkerConfig(workerEnv(h.telegram, h.openai, h.dbPath, env));
    const worker = await startWorker(config, { log: h.log, revision });
    workers.push(worker);
    return worker;
  }

  it('reports a worker outside any release ready once it polled: database, poll and self-test without an item', async () => {
    await h.start();
    await whenReady();
    const { readiness, readyAt } = reported();
    expect(readiness).toMatchObject({ pid: process.pid });
    const { database, poll, selftest, startedAt } = readiness!;
    expect(startedAt).toBeLessThanOrEqual(database!);
    expect(selftest).toBe(database);
    expect(poll).toBeGreaterThanOrEqual(database!);
    expect(readyAt).toBe(poll);
    expect(h.rows('SELECT count(*) AS n FROM inbox')).toEqual([{ n: 0 }]);
  });

  it('takes no self-test item for a revision already judged good', async () => {
    addRevision('r6-0123456', 'good');
    await startAs('r6-0123456');
    await whenReady();
    expect(reported().readiness!.selftest).toBe(reported().readiness!.database);
    expect(selftestRows()).toEqual([]);
  });

  it('reports a candidate ready only after its self-test item went through the scheduler and settled done', async () => {
    addRevision(CANDIDATE, 'candidate');
    seed(
      `INSERT INTO inbox (update_id, kind, lane, status, available_at, received_at, finished_at)
       VALUES (-42, ?, 'control', 'done', 1, 1, 1)`,
      SELFTEST_KIND,
    );
    // the first poll is answered late: a window before ingress is ready and the scheduler starts
    h.telegram.failNext('getUpdates', { delayMs: 1500 });
    const update = h.telegram.pushMessage(101, 'hello');
    await startAs(CANDIDATE);
    await h.telegram.waitFor(() => h.telegram.callsOf('getUpdates').length > 0, 5000, 'the first poll');
    expect(reported()).toEqual({
      readiness: expect.objectContaining({ database: expect.any(Number), poll: null, selftest: null }),
      readyAt: null,
    });
    // the earlier start's item is gone, and this start's waits for ingress
    expect(selftestRows()).toEqual([]);

    await whenReady();
    await h.telegram.waitForSent(1);
    await h.settled();
    const [item] = selftestRows();
    expect(selftestRows()).toHaveLength(1);
    expect(item).toMatchObject({ chat_id: null, text: null, lane: 'control', status: 'done', attempts: 1 });
    expect(item!.update_id).toBeLessThan(0);
    const { readiness, readyAt } = reported();
    expect(readiness!.selftest).toBeGreaterThanOrEqual(item!.finished_at as number);
    expect(readyAt).toBe(Math.max(readiness!.database!, readiness!.poll!, readiness!.selftest!));
    // nothing of it reached Telegram or the model; the person's message was answered as always
    expect(h.telegram.sent.map((m) => [m.chatId, m.text])).toEqual([[101, 'echo: hello']]);
    expect(h.openai.requests).toHaveLength(1);
    expect(h.telegram.confirmedOffset).toBe(update.update_id + 1);
  });

  it("queues a candidate's self-test after a cold start's filter, which would have skipped it", async () => {
    addRevision(CANDIDATE, 'candidate');
    for (const text of ['one', 'two', 'three']) h.telegram.pushMessage(101, text);
    await startAs(CANDIDATE, { TG_PENDING_MAX_MESSAGES: '1' });
    await whenReady();
    await h.settled();
    expect(selftestRows()).toEqual([expect.objectContaining({ status: 'done' })]);
    expect(h.rows(`SELECT text, status FROM inbox WHERE kind = 'text' ORDER BY update_id`)).toEqual([
      { text: 'one', status: 'skipped' },
      { text: 'two', status: 'skipped' },
      { text: 'three', status: 'done' },
    ]);
  });

  it('keeps poll and ready_at null while getUpdates fails, the self-test done meanwhile', async () => {
    addRevision(CANDIDATE, 'candidate');
    // a worker that polled before: no cold start, so it works its backlog while Telegram is down
    seed('INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)', KV.telegramOffset, '1', Date.now());
    h.telegram.failNext('getUpdates', telegramErrors.internal(), 1000);
    await startAs(CANDIDATE);
    await h.telegram.waitFor(
      () => h.telegram.callsOf('getUpdates').filter((c) => c.status === 500).length >= 3,
      10_000,
      'three failed polls',
    );
    await waitUntil(
      () => reported().readiness?.selftest !== null,
      10_000,
      () => `no self-test: ${JSON.stringify(selftestRows())}`,
    );
    expect(reported()).toEqual({
      readiness: expect.objectContaining({ database: expect.any(Number), poll: null }),
      readyAt: null,
    });
    expect(selftestRows()).toEqual([expect.objectContaining({ status: 'done' })]);

    // the first poll that works is the one that counts
    h.telegram.clearFailures();
    await whenReady();
    expect(reported().readyAt).toBe(reported().readiness!.poll);
  });

  it('starts every process from nothing: a restart clears what the last one reached', async () => {
    const first = await h.start();
    await whenReady();
    const before = reported();
    await first.stop(1000);

    h.telegram.failNext('getUpdates', telegramErrors.internal(), 1000);
    await h.start();
    await h.telegram.waitFor(
      () => h.telegram.callsOf('getUpdates').some((c) => c.status === 500),
      5000,
      'a failed poll',
    );
    const after = reported();
    expect(after.readyAt).toBeNull();
    expect(after.readiness).toMatchObject({ poll: null, pid: process.pid });
    expect(after.readiness!.database).toBeGreaterThanOrEqual(before.readyAt!);
  });
});
