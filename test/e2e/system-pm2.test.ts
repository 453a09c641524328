import { usePm2World } from '../helpers/pm2-world';

// Both apps as `npm start` runs them (worker and supervisor under PM2), with the CLI beside them.

jest.setTimeout(120_000);
const w = usePm2World();
const BOTH = ['autonous-worker', 'autonous-supervisor'];

async function supervisorState(): Promise<{ status: string; reason: string | null } | undefined> {
  const result = await w.cli(['status', '--json']);
  return (JSON.parse(result.stdout) as { supervisor?: { status: string; reason: string | null } }).supervisor;
}

describe('the whole system under PM2', () => {
  it('answers, and `autonous status` reports both apps healthy with exit 0', async () => {
    await w.start({}, { only: BOTH });
    w.telegram.pushMessage(101, 'hello');
    await w.telegram.waitForSent(1, 20_000);
    await w.pm2.waitFor(
      (ps) => BOTH.every((n) => ps.some((p) => p.name === n && p.status === 'online')),
      20_000,
    );
    let result = await w.cli(['status', '--json']);
    for (let i = 0; i < 50 && result.code !== 0; i++) {
      // the supervisor records its first revision and state within a tick or two of starting
      await new Promise((r) => setTimeout(r, 200));
      result = await w.cli(['status', '--json']);
    }
    expect(result).toMatchObject({ code: 0 });
    const status = JSON.parse(result.stdout) as { ok: boolean; problems: string[] };
    expect(status).toMatchObject({ ok: true, problems: [] });
  });

  it('a message that kills the worker is dead-lettered without the supervisor taking it for a crash loop', async () => {
    // thresholds lowered the way they relate by default: the message may crash the worker
    // WORKER_MAX_ATTEMPTS times, the supervisor calls SUPERVISOR_CRASH_LOOP_RESTARTS crashes a loop
    await w.start(
      {
        WORKER_TEST_TRIGGERS: '1',
        WORKER_MAX_ATTEMPTS: '3',
        SUPERVISOR_CRASH_LOOP_RESTARTS: '3',
        SUPERVISOR_CRASH_LOOP_WINDOW_SECONDS: '120',
        SUPERVISOR_MIN_UPTIME_SECONDS: '30',
      },
      { only: BOTH },
    );
    w.telegram.pushMessage(101, '/__crash');
    w.telegram.pushMessage(102, 'meanwhile');
    await w.telegram.waitFor(
      () => w.telegram.sentTo(101).length === 1 && w.telegram.sentTo(102).length === 1,
      60_000,
      'the dead-letter notice and the other answer',
    );
    expect(w.telegram.sentTo(101)[0]!.text).toMatch(/could not answer this message/);
    expect(w.inbox().find((r) => r.text === '/__crash')).toMatchObject({ status: 'dead', attempts: 2 });
    w.telegram.pushMessage(101, 'still here?');
    await w.telegram.waitFor(() => w.telegram.sentTo(101).length === 2, 20_000, 'an answer after the poison');
    expect(w.telegram.sentTo(101)[1]!.text).toBe('echo: still here?');
    const state = await supervisorState();
    expect(['online', 'crashed']).toContain(state?.status);
  });
});
