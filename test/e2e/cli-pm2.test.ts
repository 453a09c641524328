import { lastUserText, openAIErrors } from '../helpers/fake-openai';
import { usePm2World, type CliResult } from '../helpers/pm2-world';
import { waitUntil } from '../helpers/wait-until';
import { TEST_API_KEY } from '../helpers/worker-env';

// The built CLI beside the built worker running under the real PM2 (a sandboxed PM2_HOME),
// talking to the local fakes: repairs that take effect on the live system, and `status` through
// the pm2 API.

const WORKER = 'autonous-worker';
jest.setTimeout(120_000);

const w = usePm2World();
const cli = (args: readonly string[]): Promise<CliResult> => w.cli(args);

describe('autonous beside the worker under PM2', () => {
  it('queue retry of a dead item while the worker runs → the message is answered', async () => {
    await w.start({ WORKER_MAX_ATTEMPTS: '1' });
    const stopFailing = w.openai.failWhen(
      (req) => lastUserText(req) === 'poison',
      openAIErrors.serverError(),
    );
    w.telegram.pushMessage(101, 'poison');
    await waitUntil(
      () => w.inbox().some((r) => r.text === 'poison' && r.status === 'dead'),
      20_000,
      () => `the message dead: ${JSON.stringify(w.inbox())}`,
    );
    // the worker tells the user it could not answer (after marking the item dead); no answer yet
    await w.telegram.waitForSent(1, 10_000);
    expect(w.telegram.sent.map((m) => m.text)).toEqual([expect.stringMatching(/^Sorry, I could not answer/)]);

    const dead = await cli(['queue', 'dead', '--json']);
    expect(dead.code).toBe(0);
    const [item] = JSON.parse(dead.stdout) as { id: number; text: string; errorClass: string }[];
    expect(item).toMatchObject({ text: 'poison', errorClass: 'transient' });

    stopFailing();
    const retry = await cli(['queue', 'retry', String(item!.id)]);
    expect(retry).toMatchObject({ code: 0, stderr: '' });
    expect(retry.stdout).toContain('Requeued 1 item');
    await w.telegram.waitFor(
      () => w.telegram.sent.some((m) => m.text === 'echo: poison'),
      20_000,
      'the retried answer',
    );
    await waitUntil(
      () => w.inbox().some((r) => r.id === item!.id && r.status === 'done'),
      10_000,
      () => `the item done: ${JSON.stringify(w.inbox())}`,
    );
    expect(w.telegram.sentTo(101).map((m) => m.text)).toEqual([
      expect.stringMatching(/^Sorry/),
      'echo: poison',
    ]);
  });

  it('status and doctor read the live PM2 daemon through its API', async () => {
    const sandbox = await w.start();
    const proc = await sandbox.waitOnline(WORKER);
    w.telegram.pushMessage(101, 'hello');
    await w.telegram.waitForSent(1, 20_000);
    await waitUntil(
      () => w.inbox().some((r) => r.status === 'done'),
      10_000,
      () => 'the message done',
    );

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
    expect(table.stdout).not.toContain(w.telegram.token);

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
    await w.start({ WORKER_CONCURRENCY: '3' });
    w.openai.setLatency(200);
    for (let i = 0; i < 30; i++) w.telegram.pushMessage(101 + (i % 3), `busy ${i}`);
    const results: CliResult[] = [];
    while (w.telegram.sent.length < 30) {
      results.push(
        ...(await Promise.all([
          cli(['queue', 'ls', '--json']),
          cli(['queue', 'stats', '--json']),
          cli(['queue', 'purge', '--status', 'done', '--older-than', '1d']),
        ])),
      );
      if (results.length > 300) break;
    }
    await w.telegram.waitForSent(30, 30_000);
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) expect(r).toMatchObject({ code: 0, stderr: '' });
  });
});
