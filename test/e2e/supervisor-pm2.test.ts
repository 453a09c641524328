/**
 * The supervisor's acceptance under the real PM2: both apps of ecosystem.config.cjs (the built
 * dist/), the local Telegram and OpenAI fakes, thresholds lowered through the environment.
 * Each block shares one sandbox and runs its steps in order, like an incident would.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram';
import { startPm2Sandbox, type Pm2Sandbox } from '../helpers/pm2-sandbox';
import { waitUntil } from '../helpers/wait-until';
import { TEST_API_KEY, workerEnv } from '../helpers/worker-env';

const REPO = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO, 'bin', 'autonous');
const WORKER = 'autonous-worker';
const SUPERVISOR = 'autonous-supervisor';
const CHAT = 101;
const ADMIN_CHAT = 999;
const HEARTBEAT_TIMEOUT_S = 4;

jest.setTimeout(120_000);

const THRESHOLDS = {
  SUPERVISOR_CRASH_LOOP_RESTARTS: '3',
  SUPERVISOR_CRASH_LOOP_WINDOW_SECONDS: '60',
  SUPERVISOR_MIN_UPTIME_SECONDS: '5',
  SUPERVISOR_PROMOTE_AFTER_SECONDS: '3',
  SUPERVISOR_HEARTBEAT_TIMEOUT_SECONDS: String(HEARTBEAT_TIMEOUT_S),
  WORKER_HEARTBEAT_SECONDS: '1',
  WORKER_TEST_TRIGGERS: '1',
  // a test trigger kills the worker mid-message: with one attempt, it dies once, not in a loop
  WORKER_MAX_ATTEMPTS: '1',
  TG_ADMIN_CHAT_IDS: String(ADMIN_CHAT),
};

interface Incident {
  dir: string;
  dbPath: string;
  telegram: FakeTelegram;
  openai: FakeOpenAI;
  pm2: Pm2Sandbox;
}

interface Row {
  [key: string]: unknown;
}

/** Measured figures, printed at the end of the file. */
const figures: string[] = [];

async function startIncident(): Promise<Incident> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-e2e-'));
  const dbPath = path.join(dir, 'agent.db');
  const telegram = await startFakeTelegram();
  const openai = await startFakeOpenAI();
  const pm2 = await startPm2Sandbox({ env: workerEnv(telegram, openai, dbPath, THRESHOLDS) });
  const incident = { dir, dbPath, telegram, openai, pm2 };
  await telegram.waitFor(
    () => telegram.callsOf('getUpdates').some((c) => Number(c.params.timeout) > 0),
    20_000,
    'the worker long-polling',
  );
  await waitUntil(
    () => query(incident, `SELECT id FROM supervisor_revisions WHERE status = 'good'`).length === 1,
    20_000,
    () => `no first revision recorded; supervisor log:\n${pm2.logs('supervisor').err}`,
  );
  return incident;
}

async function stopIncident(incident: Incident | undefined): Promise<void> {
  if (!incident) return;
  await incident.pm2.kill();
  await incident.telegram.close();
  await incident.openai.close();
  fs.rmSync(incident.dir, { recursive: true, force: true });
}

function query(incident: Incident, sql: string, ...params: unknown[]): Row[] {
  if (!fs.existsSync(incident.dbPath)) return [];
  const db = new Database(incident.dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return db.prepare(sql).all(...params) as Row[];
  } catch (err) {
    if (/no such table/.test(String(err))) return [];
    throw err;
  } finally {
    db.close();
  }
}

const state = (i: Incident): Row | undefined =>
  query(i, `SELECT * FROM supervisor_state WHERE name = 'autonous-worker'`)[0];
const revision = (i: Incident, id: string): Row | undefined =>
  query(i, 'SELECT * FROM supervisor_revisions WHERE id = ?', id)[0];
const events = (i: Incident, after = 0): Row[] =>
  query(i, `SELECT * FROM supervisor_events WHERE app = 'autonous-worker' AND id > ? ORDER BY id`, after);
const lastEventId = (i: Incident): number =>
  Number(query(i, 'SELECT max(id) AS id FROM supervisor_events')[0]?.id ?? 0);
const currentTarget = (i: Incident): string =>
  fs.readlinkSync(path.join(path.dirname(i.dbPath), 'releases', 'current'));

/** Runs the autonous CLI against the incident's database and PM2. */
function cli(i: Incident, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TELEGRAM_BOT_TOKEN;
  delete env.OPENAI_API_KEY;
  Object.assign(env, {
    PM2_HOME: i.pm2.home,
    TG_DB_PATH: i.dbPath,
    AUTONOUS_ENV_FILE: '/dev/null',
    NO_COLOR: '1',
    ...THRESHOLDS,
  });
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, cwd: REPO, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A copy of the built dist whose worker throws at start, or `afterMs` after it. */
function brokenDist(i: Incident, name: string, afterMs = 0): string {
  const dist = path.join(i.dir, name, 'dist');
  fs.cpSync(path.join(REPO, 'dist'), dist, { recursive: true });
  const fail = "throw new Error('broken release: fails at start');";
  fs.writeFileSync(
    path.join(dist, 'worker', 'main.js'),
    afterMs > 0 ? `setTimeout(() => { ${fail} }, ${afterMs});\n` : `${fail}\n`,
  );
  return dist;
}

function releasedId(stdout: string): string {
  const match = /Released (r\d+-[0-9a-f]{7})/.exec(stdout);
  if (!match) throw new Error(`no revision in the release output: ${stdout}`);
  return match[1] as string;
}

async function waitFor(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  i: Incident,
  ms = 60_000,
): Promise<void> {
  await waitUntil(predicate, ms, async () => {
    const apps = (await i.pm2.list().catch(() => []))
      .map((p) => `${p.name} ${p.status} pid=${p.pid}`)
      .join(', ');
    const log = events(i)
      .slice(-12)
      .map((e) => `${String(e.event)}(${String(e.revision)},${String(e.exit_code)})`)
      .join(' ');
    return `timed out waiting for ${what}; apps: ${apps}; state: ${JSON.stringify(state(i))}; events: ${log}\n${i.pm2.logs('supervisor').err.slice(-2000)}`;
  });
}

function environOf(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').replace(/\0/g, '\n');
}

afterAll(() => {
  if (figures.length > 0) process.stdout.write(`\nsupervisor e2e figures:\n  ${figures.join('\n  ')}\n`);
});

describe('supervisor under PM2: a good revision, a bad release, a hang, a killed supervisor', () => {
  let i: Incident;
  let good: string;

  beforeAll(async () => {
    i = await startIncident();
    good = String(query(i, 'SELECT id FROM supervisor_revisions')[0]?.id);
  });
  afterAll(() => stopIncident(i));

  it('records the running build as the first good revision and runs the worker through current', async () => {
    expect(good).toMatch(/^r1-[0-9a-f]{7}$/);
    expect(currentTarget(i)).toBe(good);
    const worker = await i.pm2.proc(WORKER);
    expect(worker?.status).toBe('online');
    await waitFor(
      'state online on r1',
      () => state(i)?.status === 'online' && state(i)?.revision === good,
      i,
      10_000,
    );
    // PM2 runs it through the link, which resolves to the snapshot, not to the checkout
    const jlist = await i.pm2.pm2(['jlist']);
    const raw = JSON.parse(jlist.stdout.split('\n').find((l) => l.startsWith('[')) ?? '[]') as {
      name: string;
      pm2_env: { pm_exec_path: string };
    }[];
    const script = raw.find((p) => p.name === WORKER)?.pm2_env.pm_exec_path ?? '';
    expect(script).toBe(
      path.join(path.dirname(i.dbPath), 'releases', 'current', 'dist', 'worker', 'main.js'),
    );
    expect(fs.realpathSync(script)).toBe(
      path.join(path.dirname(i.dbPath), 'releases', good, 'dist', 'worker', 'main.js'),
    );
  });

  it("keeps the worker's secrets out of the supervisor's environment, PM2's record and its log", async () => {
    const check = async (): Promise<void> => {
      const sup = await i.pm2.proc(SUPERVISOR);
      const environ = environOf(sup?.pid as number);
      expect(environ).not.toContain(i.telegram.token);
      expect(environ).not.toContain(TEST_API_KEY);
      const pm2env = await i.pm2.pm2(['env', String(sup?.pm_id)]);
      expect(pm2env.code).toBe(0);
      expect(pm2env.stdout).not.toContain(i.telegram.token);
      expect(pm2env.stdout).not.toContain(TEST_API_KEY);
    };
    // started by `pm2 start ecosystem.config.cjs` from an environment that holds both secrets
    await check();
    const worker = await i.pm2.proc(WORKER);
    expect(environOf(worker?.pid as number)).toContain(i.telegram.token); // the worker does get them
    // `--update-env` from that environment hands them over; the supervisor blanks them and restarts
    const before = await i.pm2.restarts(SUPERVISOR);
    expect((await i.pm2.pm2(['restart', SUPERVISOR, '--update-env'])).code).toBe(0);
    await i.pm2.waitFor(
      async (ps) => {
        const sup = ps.find((p) => p.name === SUPERVISOR);
        return (
          sup !== undefined &&
          sup.status === 'online' &&
          sup.restart_time >= before + 2 &&
          !environOf(sup.pid).includes(TEST_API_KEY)
        );
      },
      20_000,
      'the supervisor restarted without the secrets',
    );
    await check();
    const logs = i.pm2.logs('supervisor');
    expect(logs.out + logs.err).not.toContain(i.telegram.token);
    expect(logs.err).toMatch(/TELEGRAM_BOT_TOKEN was in the supervisor's environment and has been dropped/);
    expect(JSON.stringify(query(i, 'SELECT * FROM supervisor_events'))).not.toContain(i.telegram.token);
  });

  it('lets PM2 restart a good revision after a single crash, without a rollback', async () => {
    const from = lastEventId(i);
    const pid = await i.pm2.pid(WORKER);
    i.telegram.pushMessage(CHAT, '/__crash');
    await waitFor(
      'the crash recorded and the worker back',
      async () => {
        const w = await i.pm2.proc(WORKER);
        return (
          events(i, from).some((e) => e.event === 'exit' && e.exit_code === 1 && e.manual === 0) &&
          w?.status === 'online' &&
          w.pid !== pid
        );
      },
      i,
      20_000,
    );
    const exit = events(i, from).find((e) => e.event === 'exit') as Row;
    expect(exit).toMatchObject({ exit_code: 1, manual: 0, revision: good });
    // the exit set the state to crashed; the new run's `online` sets it back
    await waitFor(
      'the new run online on record, and in the state',
      () =>
        events(i, Number(exit.id)).some((e) => e.event === 'online' && e.revision === good) &&
        state(i)?.status === 'online',
      i,
      10_000,
    );
    expect(events(i, from).map((e) => e.event)).not.toContain('rollback');
    expect(revision(i, good)?.status).toBe('good');
    expect(currentTarget(i)).toBe(good);
  });

  it('restarts a worker whose loop hangs, within the heartbeat timeout', async () => {
    const from = lastEventId(i);
    const pid = await i.pm2.pid(WORKER);
    const sentAt = Date.now();
    i.telegram.pushMessage(CHAT, '/__hang');
    await waitFor('the watchdog', () => events(i, from).some((e) => e.event === 'watchdog'), i, 30_000);
    const watchdog = events(i, from).find((e) => e.event === 'watchdog') as Row;
    const detail = JSON.parse(String(watchdog.detail)) as { lastHeartbeatAt: number; silentMs: number };
    // the silence it acted on is just over the timeout (one check interval of slack)
    expect(detail.silentMs).toBeGreaterThan(HEARTBEAT_TIMEOUT_S * 1000);
    expect(detail.silentMs).toBeLessThan(HEARTBEAT_TIMEOUT_S * 1000 + 2500);
    await i.pm2.waitFor(
      (ps) => ps.some((p) => p.name === WORKER && p.status === 'online' && p.pid !== pid),
      20_000,
      'a new worker',
    );
    const back = Date.now();
    figures.push(
      `hang: watchdog ${Number(watchdog.at) - sentAt} ms after the /__hang message (last heartbeat ${
        Number(watchdog.at) - detail.lastHeartbeatAt
      } ms before), worker online again ${back - sentAt} ms after it`,
    );
    expect(Number(watchdog.at) - detail.lastHeartbeatAt).toBeLessThan((HEARTBEAT_TIMEOUT_S + 2.5) * 1000);
    // PM2 may report the new worker online before the supervisor has taken the exit off the bus
    await waitFor('the exit on record', () => events(i, from).some((e) => e.event === 'exit'), i, 10_000);
    const exit = events(i, from).find((e) => e.event === 'exit') as Row;
    expect(exit).toMatchObject({ manual: 1, detail: '{"kind":"watchdog"}' });
    // and the new run's `online`, so that the next test starts from a quiet record
    await waitFor(
      'the new run online on record',
      () => events(i, Number(exit.id)).some((e) => e.event === 'online'),
      i,
      10_000,
    );
    expect(events(i, from).map((e) => e.event)).not.toContain('rollback');
  });

  it('rolls a crash-looping release back, answers a message sent meanwhile, and tells the admins', async () => {
    const from = lastEventId(i);
    const started = Date.now();
    const release = await cli(i, ['release', '--from', brokenDist(i, 'broken-1')]);
    expect(release.code).toBe(0);
    const bad = releasedId(release.stdout);
    expect(release.stdout).toContain('The worker was restarted');
    i.telegram.pushMessage(CHAT, 'are you there during the incident?');
    await waitFor(
      'the rollback',
      () => revision(i, bad)?.status === 'bad' && currentTarget(i) === good,
      i,
      60_000,
    );
    const rolledBackAt = Date.now();
    await i.pm2.waitOnline(WORKER, 20_000);
    // the good revision's `online` comes over the bus: PM2's list can show it first
    await waitFor(
      'the good revision online on record',
      () => events(i, from).some((e) => e.event === 'online' && e.revision === good),
      i,
      10_000,
    );
    await i.telegram.waitFor(
      () => i.telegram.sentTo(CHAT).some((m) => m.text === 'echo: are you there during the incident?'),
      20_000,
      'the answer to the message sent during the incident',
    );
    const answeredAt = Date.now();
    expect(revision(i, bad)).toMatchObject({
      status: 'bad',
      reason: expect.stringMatching(/crashed 3 times/),
    });
    expect(state(i)).toMatchObject({ status: 'rolled_back', revision: good });
    const seq = events(i, from);
    const names = seq.map((e) => e.event);
    // release → the candidate's crashes → crash_loop → rollback → the good revision online
    expect(names[0]).toBe('release');
    const loopAt = names.indexOf('crash_loop');
    expect(loopAt).toBeGreaterThan(0);
    expect(names.indexOf('rollback')).toBe(loopAt + 1);
    expect(
      seq.filter((e) => e.event === 'exit' && e.revision === bad && e.manual === 0).length,
    ).toBeGreaterThanOrEqual(3);
    const rollback = seq[loopAt + 1] as Row;
    expect(rollback.revision).toBe(good);
    expect(JSON.parse(String(rollback.detail))).toEqual({
      from: bad,
      to: good,
      reason: expect.stringMatching(/crashed 3 times/),
    });
    expect(seq.slice(loopAt + 2).some((e) => e.event === 'online' && e.revision === good)).toBe(true);
    // the worker tells the admin chat which revision failed and which runs now
    await i.telegram.waitFor(
      () => i.telegram.sentTo(ADMIN_CHAT).some((m) => m.text.includes(bad) && m.text.includes(good)),
      20_000,
      'the rollback notice',
    );
    const ls = await cli(i, ['revisions', 'ls']);
    expect(ls.stdout).toMatch(new RegExp(`\\*\\s+${good}\\s+good`));
    expect(ls.stdout).toMatch(new RegExp(`${bad}\\s+bad`));
    figures.push(
      `rollback: release command took ${Number(seq[0]?.at) - started} ms; crash loop detected ${
        Number(seq[loopAt]?.at) - Number(seq[0]?.at)
      } ms after the release was recorded; rollback seen by the test ${rolledBackAt - started} ms after the release started; message answered ${answeredAt - started} ms after`,
    );
  });

  it('completes the rollback when the supervisor is SIGKILLed mid-incident', async () => {
    const from = lastEventId(i);
    const supBefore = await i.pm2.proc(SUPERVISOR);
    const started = Date.now();
    // each run lives a second (still short of promotion): the crash loop takes seconds to build up,
    // so the supervisor is surely killed in the middle of it
    const release = await cli(i, ['release', '--from', brokenDist(i, 'broken-2', 1000)]);
    const bad = releasedId(release.stdout);
    // the first crash of the new candidate is on record: now the supervisor dies
    await waitFor(
      'a first crash of the candidate',
      () => events(i, from).some((e) => e.event === 'exit' && e.revision === bad && e.manual === 0),
      i,
      20_000,
    );
    // its pid is known: signal it at once, without asking PM2 for the list first
    process.kill(Number(supBefore?.pid), 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(
      'the rollback after the supervisor restarted',
      () => revision(i, bad)?.status === 'bad' && currentTarget(i) === good,
      i,
      60_000,
    );
    const rolledBackAt = Date.now();
    const supAfter = await i.pm2.waitOnline(SUPERVISOR, 20_000);
    expect(supAfter.pid).not.toBe(supBefore?.pid);
    expect(supAfter.restart_time).toBeGreaterThan(supBefore?.restart_time ?? 0);
    await i.pm2.waitOnline(WORKER, 20_000);
    // nothing was lost: the earlier revisions and events are all there, the sequence continues
    expect(revision(i, good)?.status).toBe('good');
    const names = events(i, from).map((e) => e.event);
    expect(names[0]).toBe('release');
    expect(names).toContain('crash_loop');
    expect(names).toContain('rollback');
    const restartedAt = query(
      i,
      `SELECT at FROM supervisor_events WHERE app = 'autonous-supervisor' AND event = 'supervisor_start' AND at > ?`,
      killedAt,
    );
    expect(restartedAt).toHaveLength(1);
    // the decision was the restarted supervisor's, from the crashes on record and those it saw since
    const loop = events(i, from).find((e) => e.event === 'crash_loop') as Row;
    expect(Number(loop.at)).toBeGreaterThan(Number(restartedAt[0]?.at));
    expect(state(i)).toMatchObject({ status: 'rolled_back' });
    figures.push(
      `supervisor SIGKILLed mid-incident: rollback complete ${rolledBackAt - killedAt} ms after the kill (${rolledBackAt - started} ms after the release)`,
    );
  });
});

describe('supervisor under PM2: no good revision to go back to', () => {
  let i: Incident;

  beforeAll(async () => {
    i = await startIncident();
  });
  afterAll(() => stopIncident(i));

  it('stops the worker and halts with the reason; status shows it; a fixed release resumes', async () => {
    const first = String(query(i, 'SELECT id FROM supervisor_revisions')[0]?.id);
    // no good revision left: as if the first one had been found bad (the only way to lose it here)
    const db = new Database(i.dbPath);
    db.pragma('busy_timeout = 5000');
    db.prepare(
      `UPDATE supervisor_revisions SET status = 'bad', reason = 'marked by the test' WHERE id = ?`,
    ).run(first);
    db.close();

    const started = Date.now();
    const release = await cli(i, ['release', '--from', brokenDist(i, 'broken')]);
    const bad = releasedId(release.stdout);
    await waitFor('the halt', () => state(i)?.status === 'halted', i, 60_000);
    const haltedAt = Date.now();
    await i.pm2.waitFor(
      (ps) => ps.some((p) => p.name === WORKER && p.status === 'stopped'),
      20_000,
      'the worker stopped',
    );
    expect(state(i)?.reason).toMatch(/no good revision to roll back to/);
    expect(revision(i, bad)?.status).toBe('bad');
    expect(currentTarget(i)).toBe(bad);
    // it stays stopped: no endless restarts
    const restarts = await i.pm2.restarts(WORKER);
    await new Promise((r) => setTimeout(r, 2500));
    expect(await i.pm2.restarts(WORKER)).toBe(restarts);
    expect((await i.pm2.proc(WORKER))?.status).toBe('stopped');
    figures.push(`halt: ${haltedAt - started} ms after the release started`);

    const status = await cli(i, ['status']);
    expect(status.code).toBe(1);
    expect(status.stdout + status.stderr).toMatch(/halted/);
    expect(status.stdout + status.stderr).toMatch(/no good revision to roll back to/);

    // resuming by hand starts the worker again, counting afresh: the same bad code halts again
    const fromResume = lastEventId(i);
    const resume = await cli(i, ['supervisor', 'resume']);
    expect(resume.stdout).toMatch(/^Resumed: the worker was started again/);
    await waitFor(
      'a second halt',
      () => state(i)?.status === 'halted' && events(i, fromResume).some((e) => e.event === 'halt'),
      i,
      60_000,
    );
    expect(events(i, fromResume).map((e) => e.event)[0]).toBe('resume');
    expect(
      events(i, fromResume).filter((e) => e.event === 'exit' && e.manual === 0).length,
    ).toBeGreaterThanOrEqual(3);

    // the operator releases a fix: the halt ends and the worker answers again
    const fixed = await cli(i, ['release', '--from', path.join(REPO, 'dist')]);
    expect(fixed.code).toBe(0);
    const fix = releasedId(fixed.stdout);
    await i.pm2.waitOnline(WORKER, 20_000);
    await waitFor(
      'the fix running and promoted',
      () => state(i)?.status === 'online' && revision(i, fix)?.status === 'good',
      i,
      30_000,
    );
    i.telegram.pushMessage(CHAT, 'hello after the fix');
    await i.telegram.waitFor(
      () => i.telegram.sentTo(CHAT).some((m) => m.text === 'echo: hello after the fix'),
      20_000,
      'an answer after the fix',
    );
  });
});
