import fs from 'node:fs';
import { lastUserText } from '../helpers/fake-openai';
import { TEST_API_KEY } from '../helpers/worker-env';
import { usePm2World } from '../helpers/pm2-world';
import { waitUntil } from '../helpers/wait-until';

// The built worker (dist/) under the real PM2, talking to the local fakes over HTTP.

const WORKER = 'autonous-worker';
jest.setTimeout(120_000);

const w = usePm2World();

/** Replies per user message text, to count answers and duplicates. */
function answerCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of w.telegram.sent) counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
  return counts;
}

describe('worker under PM2', () => {
  it('answers 3 chats × 5 messages, in order per chat, each as a reply to its message', async () => {
    await w.start({ WORKER_CONCURRENCY: '3' });
    const asked = new Map<number, number[]>();
    for (let i = 0; i < 5; i++) {
      for (const chat of [101, 102, 103]) {
        const update = w.telegram.pushMessage(chat, `chat ${chat} question ${i}`);
        asked.set(chat, [...(asked.get(chat) ?? []), update.message!.message_id]);
      }
    }
    await w.telegram.waitForSent(15, 30_000);
    for (const chat of [101, 102, 103]) {
      const sent = w.telegram.sentTo(chat);
      expect(sent.map((m) => m.text)).toEqual([0, 1, 2, 3, 4].map((i) => `echo: chat ${chat} question ${i}`));
      expect(sent.map((m) => m.replyToMessageId)).toEqual(asked.get(chat));
    }
    expect(w.openai.requests).toHaveLength(15);
  });

  it('publishes its figures as PM2 custom metrics (pm2 jlist, pm2 show, pm2 monit)', async () => {
    const sandbox = await w.start();
    await sandbox.waitOnline(WORKER);
    w.telegram.pushMessage(101, 'measure me');
    await w.telegram.waitForSent(1, 20_000);
    const list = await sandbox.waitFor(
      (ps) => Number(ps.find((p) => p.name === WORKER)?.metrics['Answered/min'] ?? 0) >= 1,
      20_000,
      'the Answered/min metric',
    );
    const metrics = list.find((p) => p.name === WORKER)!.metrics;
    for (const name of [
      'Queue depth',
      'In flight',
      'Answered/min',
      'Reply p50 ms',
      'Reply p95 ms',
      'Errors/min',
      'Dead',
    ]) {
      expect(typeof metrics[name]).toBe('number');
    }
    expect(metrics['Reply p50 ms']).toBeGreaterThan(0);
    expect(metrics['Queue depth']).toBe(0);
  });

  it('WORKER_SUICIDE_EVERY=2: 20 messages answered exactly once across at least 9 restarts', async () => {
    const sandbox = await w.start({ WORKER_SUICIDE_EVERY: '2' });
    const texts = Array.from({ length: 20 }, (_, i) => `suicide ${i}`);
    for (const text of texts) w.telegram.pushMessage(101, text);
    await w.telegram.waitFor(() => answerCounts().size >= 20, 90_000, '20 distinct answers');
    const counts = answerCounts();
    for (const text of texts) expect(counts.get(`echo: ${text}`)).toBe(1);
    expect(w.telegram.sent.map((m) => m.text)).toEqual(texts.map((t) => `echo: ${t}`));
    const proc = await sandbox.waitFor(
      (ps) => ps.some((p) => p.name === WORKER && p.restart_time >= 9),
      20_000,
      '9 restarts',
    );
    expect(proc.find((p) => p.name === WORKER)!.restart_time).toBeGreaterThanOrEqual(9);
    expect(w.openai.requests).toHaveLength(20);
  });

  it('SIGKILL between batches: PM2 restarts the worker, nothing lost, nothing answered twice', async () => {
    const sandbox = await w.start();
    await sandbox.waitOnline(WORKER);
    for (let i = 0; i < 5; i++) w.telegram.pushMessage(101, `before ${i}`);
    await w.telegram.waitForSent(5, 20_000);
    // between batches: the first five are settled (a row is marked done just after its reply)
    const allDone = (n: number) => () =>
      w.inbox().length === n && w.inbox().every((r) => r.status === 'done');
    await waitUntil(allDone(5), 10_000, () => `the first batch done: ${JSON.stringify(w.inbox())}`);
    const pid = await sandbox.killProcess(WORKER, 'SIGKILL');
    for (let i = 0; i < 5; i++) w.telegram.pushMessage(102, `after ${i}`);
    await sandbox.waitFor(
      (ps) => ps.some((p) => p.name === WORKER && p.pid > 0 && p.pid !== pid),
      20_000,
      'a new worker',
    );
    await w.telegram.waitForSent(10, 30_000);
    // every row settled: nothing is left that could be answered again
    await waitUntil(allDone(10), 10_000, () => `all done: ${JSON.stringify(w.inbox())}`);
    expect(w.telegram.sent).toHaveLength(10);
    expect([...answerCounts().values()].every((n) => n === 1)).toBe(true);
  });

  it('chaos: 3 chats × 10 messages under SIGKILLs, every message answered in order per chat', async () => {
    w.openai.setLatency(200);
    // The kills are driven, not timed: each one waits for the restarted worker to make progress,
    // then holds the model's answers until an answer is in flight, so every kill lands on work
    // however slow the machine is, and the 30 messages cannot all be answered before the last.
    let open = true;
    let held = 0;
    const opened: Array<() => void> = [];
    const release = (): void => {
      open = true;
      for (const resume of opened.splice(0)) resume();
    };
    w.openai.setReply(async (req) => {
      if (!open) {
        held++;
        await new Promise<void>((resume) => opened.push(resume));
        held--;
      }
      return `echo: ${lastUserText(req)}`;
    });
    // random kills are not a poison message: let every message survive many of them
    const sandbox = await w.start({
      WORKER_CONCURRENCY: '3',
      WORKER_MAX_ATTEMPTS: '20',
      SUPERVISOR_CRASH_LOOP_RESTARTS: '100',
    });
    await sandbox.waitOnline(WORKER);
    const chats = [101, 102, 103];
    for (let i = 0; i < 10; i++) for (const chat of chats) w.telegram.pushMessage(chat, `chat ${chat} #${i}`);
    // PM2's restart backoff grows ×1.5 per restart (100 ms … 15 s) and only resets after 30 s of
    // uptime: 6 kills cost ~2 s of restart delays. Between kills at most the 3 answers in flight
    // can land, so 6 rounds leave messages unanswered for the last kill.
    const KILLS = 6;
    const deadline = Date.now() + 90_000;
    const left = (): number => Math.max(1, deadline - Date.now());
    const pending = (): string => `kills=${kills} sent=${w.telegram.sent.length} held=${held}`;
    let kills = 0;
    let killedPid: number | undefined;
    try {
      while (kills < KILLS) {
        const sentAtKill = w.telegram.sent.length;
        await waitUntil(
          () => w.telegram.sent.length > sentAtKill,
          left(),
          () => `the worker making progress after a kill: ${pending()}`,
        );
        open = false;
        await waitUntil(
          () => held > 0,
          left(),
          () => `an answer in flight to kill: ${pending()}`,
        );
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
        const pid = await sandbox.pid(WORKER);
        if (pid !== undefined && pid !== killedPid) {
          process.kill(pid, 'SIGKILL');
          killedPid = pid;
          kills++;
        }
        release();
      }
      // every row settled: nothing is left that could be answered again
      await waitUntil(
        () => w.inbox().length === 30 && w.inbox().every((r) => r.status === 'done' || r.status === 'dead'),
        left(),
        () => `all 30 settled: ${JSON.stringify(w.inbox())}`,
      );
    } finally {
      release();
    }
    const counts = answerCounts();
    const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
    console.log(
      `chaos: ${kills} SIGKILLs, 30 messages, ${w.telegram.sent.length} replies sent, ${duplicates} duplicates`,
    );
    const failed = w.inbox().filter((r) => r.status !== 'done');
    expect(failed.map((r) => ({ text: r.text, attempts: r.attempts, error: r.error }))).toEqual([]);
    for (const chat of chats) {
      const distinct = [...new Set(w.telegram.sentTo(chat).map((m) => m.text))];
      expect(distinct).toEqual(Array.from({ length: 10 }, (_, i) => `echo: chat ${chat} #${i}`));
    }
    // A duplicate is only possible in the window between Telegram accepting a part and the
    // worker recording it. Of the 3 answers in flight when a kill lands one is held at the model,
    // so at most 2 per kill.
    expect(duplicates).toBeLessThanOrEqual(kills * 2);
  });

  it('a message that crashes the worker ends dead; the worker stays online and answers the rest', async () => {
    const sandbox = await w.start({ WORKER_TEST_TRIGGERS: '1', WORKER_MAX_ATTEMPTS: '3' });
    w.telegram.pushMessage(101, '/__crash');
    w.telegram.pushMessage(101, 'next in line');
    w.telegram.pushMessage(102, 'other chat');
    await w.telegram.waitFor(
      () =>
        w.telegram.sentTo(101).some((m) => m.text === 'echo: next in line') &&
        w.telegram.sentTo(102).length > 0,
      60_000,
      'the other messages answered',
    );
    expect(w.inbox()[0]).toMatchObject({ status: 'dead', attempts: 3 });
    expect(w.telegram.sentTo(101)[0]!.text).toMatch(/could not answer this message/);
    expect(w.telegram.sentTo(102).map((m) => m.text)).toEqual(['echo: other chat']);
    const proc = await sandbox.waitOnline(WORKER);
    expect(proc.restart_time).toBeGreaterThanOrEqual(3);
  });

  it('keeps both secrets out of PM2 logs, the database and the process output', async () => {
    w.openai.failNext({ status: 500, error: { message: `leaked ${TEST_API_KEY}`, type: 'server_error' } }, 2);
    w.telegram.failNext('getUpdates', {
      httpStatus: 502,
      body: `bad gateway /bot${w.telegram.token}/getUpdates`,
    });
    const sandbox = await w.start({ WORKER_MAX_ATTEMPTS: '2', LOG_LEVEL: 'debug' });
    w.telegram.pushMessage(101, 'one');
    w.telegram.pushMessage(102, 'two');
    await w.telegram.waitFor(
      () => w.inbox().filter((r) => r.status === 'done' || r.status === 'dead').length === 2,
      30_000,
      'settled',
    );
    await sandbox.pm2(['stop', WORKER]);
    const { out, err } = sandbox.logs();
    expect(out + err).toContain('attempt failed');
    const files = [w.dbPath, `${w.dbPath}-wal`].filter((f) => fs.existsSync(f));
    const db = files.map((f) => fs.readFileSync(f).toString('latin1')).join('');
    for (const secret of [w.telegram.token, TEST_API_KEY]) {
      expect(out.includes(secret) || err.includes(secret)).toBe(false);
      expect(db.includes(secret)).toBe(false);
    }
  });

  it('stops without a restart loop when a secret is missing, naming the variable', async () => {
    const sandbox = await w.start({ OPENAI_API_KEY: '' }, { waitPolling: false });
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
    w.openai.setLatency(1500);
    const sandbox = await w.start();
    w.telegram.pushMessage(101, 'finish me');
    await w.openai.waitFor(() => w.openai.requests.length === 1, 10_000, 'the model call');
    await sandbox.pm2(['stop', WORKER]);
    expect(w.telegram.sent.map((m) => m.text)).toEqual(['echo: finish me']);
    expect(await sandbox.proc(WORKER)).toMatchObject({ status: 'stopped', exit_code: 0 });
    expect(w.inbox()).toEqual([expect.objectContaining({ status: 'done', attempts: 1 })]);
  });
});
