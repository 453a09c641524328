/**
 * The supervisor's state machine against a real database and releases folder, with PM2 played by
 * a fake that records what it is asked and a clock the test moves.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type DbHandle } from '../../src/db/open';
import { type Readiness, WORKER_APP } from '../../src/shared/contracts';
import { loadSupervisorConfig } from '../../src/supervisor-hooks/config';
import type { AppInfo, LifecycleEvent, ProcessManager } from '../../src/supervisor-hooks/process-manager';
import { pointCurrentAt, readCurrent, workerScriptPath } from '../../src/supervisor-hooks/releases';
import { releaseRevision, type RevisionContext } from '../../src/supervisor-hooks/revisions';
import { SupervisorStore } from '../../src/supervisor-hooks/store';
import { Supervisor } from '../../src/supervisor-hooks/supervisor';
import type { Logger } from '../../src/shared/log';

const T0 = 1_700_000_000_000;
const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

class FakePm2 implements ProcessManager {
  calls: string[] = [];
  worker: AppInfo;
  constructor(
    private readonly clock: { t: number },
    execPath: string,
  ) {
    this.worker = {
      name: WORKER_APP,
      status: 'online',
      pid: 100,
      startedAt: clock.t,
      restarts: 0,
      execPath,
      exitCode: null,
    };
  }
  async list(): Promise<AppInfo[]> {
    return [this.worker, { ...this.worker, name: 'autonous-supervisor', pid: 7 }];
  }
  async restart(name: string): Promise<void> {
    this.calls.push(`restart ${name}`);
    this.worker = { ...this.worker, status: 'online', startedAt: this.clock.t + 1, pid: this.worker.pid + 1 };
  }
  async stop(name: string): Promise<void> {
    this.calls.push(`stop ${name}`);
    this.worker = { ...this.worker, status: 'stopped', pid: 0 };
  }
  async restartWithMyEnv(name: string): Promise<void> {
    this.calls.push(`restart --update-env ${name}`);
  }
  async signal(name: string, signal: NodeJS.Signals): Promise<void> {
    this.calls.push(`${signal} ${name}`);
  }
  async subscribe(): Promise<void> {}
  async close(): Promise<void> {}
}

interface World {
  root: string;
  home: string;
  releases: string;
  handle: DbHandle;
  store: SupervisorStore;
  clock: { t: number };
  pm: FakePm2;
  sup: Supervisor;
  ctx: RevisionContext;
}

function fakeProject(dir: string, main: string): string {
  fs.mkdirSync(path.join(dir, 'dist', 'worker'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'dist', 'worker', 'main.js'), main);
  fs.mkdirSync(path.join(dir, 'drizzle', 'meta'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'drizzle', 'meta', '_journal.json'), '{"entries":[]}');
  return dir;
}

const worlds: World[] = [];

async function world(env: Record<string, string> = {}): Promise<World> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-test-'));
  const home = fakeProject(path.join(root, 'home'), '// the first build\n');
  const dbFile = path.join(root, 'state', 'agent.db');
  const handle = openDatabase(dbFile);
  const config = loadSupervisorConfig({
    AUTONOUS_HOME: home,
    TG_DB_PATH: dbFile,
    SUPERVISOR_CRASH_LOOP_RESTARTS: '3',
    SUPERVISOR_CRASH_LOOP_WINDOW_SECONDS: '60',
    SUPERVISOR_MIN_UPTIME_SECONDS: '5',
    SUPERVISOR_PROMOTE_AFTER_SECONDS: '10',
    SUPERVISOR_HEARTBEAT_TIMEOUT_SECONDS: '30',
    ...env,
  });
  // what ecosystem.config.cjs does before anything was released
  fs.mkdirSync(config.releasesDir, { recursive: true });
  pointCurrentAt(config.releasesDir, home);
  const clock = { t: T0 };
  const store = new SupervisorStore(handle);
  const pm = new FakePm2(clock, workerScriptPath(config.releasesDir));
  const sup = new Supervisor({ config, store, pm, now: () => clock.t, log: quiet });
  const ctx = { store, releasesDir: config.releasesDir, home, keep: 5 };
  const w = { root, home, releases: config.releasesDir, handle, store, clock, pm, sup, ctx };
  worlds.push(w);
  await sup.start(0);
  return w;
}

afterEach(async () => {
  for (const w of worlds.splice(0)) {
    await w.sup.stop();
    w.handle.close();
    fs.rmSync(w.root, { recursive: true, force: true });
  }
});

function event(w: World, name: string, app: Partial<AppInfo>, manual = false): LifecycleEvent {
  return { event: name, manual, at: w.clock.t, app: { ...w.pm.worker, pid: 0, ...app } };
}

/** The worker dies after `uptimeMs` on its own; PM2 starts it again 100 ms later. */
async function crash(w: World, uptimeMs: number, exitCode: number | null = 1): Promise<void> {
  const startedAt = w.pm.worker.startedAt;
  w.clock.t = startedAt + uptimeMs;
  const acted = w.pm.calls.length;
  await w.sup.handleEvent(event(w, 'exit', { status: 'stopped', startedAt, exitCode }));
  if (w.pm.calls.length > acted) return; // the supervisor rolled back or halted: no automatic restart
  w.clock.t += 100;
  w.pm.worker = { ...w.pm.worker, status: 'online', startedAt: w.clock.t, exitCode };
  await w.sup.handleEvent(event(w, 'online', { status: 'launching', startedAt: w.clock.t }));
}

/** A manual restart as PM2 reports it: exit (stopping), exit again, online, restart. */
async function manualRestart(w: World): Promise<void> {
  const startedAt = w.pm.worker.startedAt;
  w.clock.t += 1000;
  await w.sup.handleEvent(event(w, 'exit', { status: 'stopping', startedAt, exitCode: 0 }));
  await w.sup.handleEvent(event(w, 'exit', { status: 'stopped', startedAt, exitCode: 0 }));
  w.clock.t += 50;
  w.pm.worker = { ...w.pm.worker, startedAt: w.clock.t };
  await w.sup.handleEvent(event(w, 'online', { status: 'launching', startedAt: w.clock.t }));
  await w.sup.handleEvent(event(w, 'restart', { status: 'online', startedAt: w.clock.t }, true));
}

function release(w: World, main: string): string {
  const dir = fakeProject(path.join(w.root, `build-${w.clock.t}`), main);
  const made = releaseRevision(
    w.ctx,
    { distDir: path.join(dir, 'dist'), drizzleDir: path.join(dir, 'drizzle') },
    dir,
    w.clock.t,
  );
  return made.revision.id;
}

/** The release as the CLI does it: records, re-points, restarts, and PM2 reports the new run. */
async function releaseAndRestart(w: World, main: string): Promise<string> {
  w.clock.t += 1000;
  const id = release(w, main);
  await manualRestart(w);
  return id;
}

const eventNames = (w: World): string[] => w.store.events().map((e) => e.event);

/** The worker's heartbeat, as it writes it into its own row. */
function beat(w: World, at = w.clock.t): void {
  w.handle.sqlite
    .prepare(
      `INSERT INTO supervisor_state (name, heartbeat_at, updated_at) VALUES ('worker-heartbeat', ?, ?)
       ON CONFLICT(name) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
    )
    .run(at, at);
}

/**
 * The worker's readiness, as it writes it into its own row: by default the running process (PM2's
 * pid) with every part reached.
 */
function reportReadiness(w: World, readiness: Partial<Readiness> = {}): void {
  const full: Readiness = {
    pid: w.pm.worker.pid,
    startedAt: w.pm.worker.startedAt,
    database: w.clock.t,
    poll: w.clock.t,
    selftest: w.clock.t,
    ...readiness,
  };
  const ready = full.database !== null && full.poll !== null && full.selftest !== null;
  w.handle.sqlite
    .prepare(
      `INSERT INTO supervisor_state (name, readiness, ready_at, updated_at) VALUES ('worker-heartbeat', ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET readiness = excluded.readiness, ready_at = excluded.ready_at`,
    )
    .run(JSON.stringify(full), ready ? w.clock.t : null, w.clock.t);
}

describe('supervisor state machine', () => {
  it('records what runs at the first start as the first good revision and points current at it', async () => {
    const w = await world();
    const [first] = w.store.revisions();
    expect(first).toMatchObject({ status: 'good', id: expect.stringMatching(/^r1-/) });
    expect(readCurrent(w.releases)?.revision).toBe(first?.id);
    expect(w.store.state()).toMatchObject({ status: 'online', revision: first?.id });
    // the running process is the very code just copied: no restart
    expect(w.pm.calls).toEqual([]);
  });

  it('lets PM2 restart a good revision after a single crash, and records it', async () => {
    const w = await world();
    await crash(w, 1000);
    expect(w.store.state()).toMatchObject({ status: 'online', lastExitCode: 1, restartsInWindow: 1 });
    const exit = w.store.events().find((e) => e.event === 'exit');
    expect(exit).toMatchObject({
      exitCode: 1,
      uptimeMs: 1000,
      manual: false,
      revision: w.store.revisions()[0]?.id,
    });
    expect(w.pm.calls).toEqual([]);
  });

  it('rolls a crash-looping candidate back to the previous good revision', async () => {
    const w = await world();
    const good = w.store.revisions()[0]?.id as string;
    const bad = await releaseAndRestart(w, 'throw new Error("broken");\n');
    expect(w.store.revision(bad)?.status).toBe('candidate');
    await crash(w, 300);
    await crash(w, 300);
    expect(w.pm.calls).toEqual([]);
    await crash(w, 300);
    expect(w.store.revision(bad)).toMatchObject({
      status: 'bad',
      reason: expect.stringMatching(/crashed 3 times/),
    });
    expect(readCurrent(w.releases)?.revision).toBe(good);
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
    expect(w.store.state()).toMatchObject({ status: 'rolled_back' });
    const rollback = w.store.lastEvent(['rollback']);
    expect(rollback?.revision).toBe(good);
    expect(JSON.parse(rollback?.detail ?? '{}')).toEqual({
      from: bad,
      to: good,
      reason: expect.stringMatching(/crashed 3 times/),
    });
    expect(eventNames(w).slice(-3)).toEqual(['exit', 'crash_loop', 'rollback']);
    // PM2 reports the restarted worker: it runs the good revision, still shown as rolled back
    w.clock.t += 100;
    await w.sup.handleEvent(event(w, 'online', { status: 'launching', startedAt: w.pm.worker.startedAt }));
    expect(w.store.state()).toMatchObject({ status: 'rolled_back', revision: good });
    // a later crash of the good revision is counted afresh
    await crash(w, 300);
    expect(w.store.state()).toMatchObject({ status: 'online', restartsInWindow: 1 });
  });

  it('halts a crash-looping good revision and keeps it stopped', async () => {
    const w = await world();
    await crash(w, 300);
    await crash(w, 300);
    await crash(w, 300);
    expect(w.pm.calls).toEqual([`stop ${WORKER_APP}`]);
    expect(w.store.state()).toMatchObject({
      status: 'halted',
      reason: expect.stringMatching(/had run well/),
    });
    expect(w.store.revisions()[0]?.status).toBe('good');
    // someone starts it by hand while halted: stopped again
    w.clock.t += 5000;
    await w.sup.handleEvent(event(w, 'online', { status: 'launching', startedAt: w.clock.t }));
    expect(w.pm.calls).toEqual([`stop ${WORKER_APP}`, `stop ${WORKER_APP}`]);
    expect(w.store.state()?.status).toBe('halted');
  });

  it('halts a crash-looping candidate with no good revision to go back to, and marks it bad', async () => {
    const w = await world();
    const first = w.store.revisions()[0]?.id as string;
    w.store.markBad(first, 'marked by the test', w.clock.t);
    const candidate = await releaseAndRestart(w, 'throw new Error("broken");\n');
    for (let i = 0; i < 3; i++) await crash(w, 300);
    expect(w.store.state()).toMatchObject({
      status: 'halted',
      reason: expect.stringMatching(/no good revision/),
    });
    expect(w.store.revision(candidate)?.status).toBe('bad');
    expect(readCurrent(w.releases)?.revision).toBe(candidate);
    expect(w.pm.calls).toEqual([`stop ${WORKER_APP}`]);
  });

  it('never counts manual restarts, crash-test exits (75) or long runs', async () => {
    const w = await world();
    for (let i = 0; i < 4; i++) await manualRestart(w);
    for (let i = 0; i < 6; i++) await crash(w, 300, 75);
    for (let i = 0; i < 6; i++) await crash(w, 5000);
    expect(w.pm.calls).toEqual([]);
    expect(w.store.state()).toMatchObject({ status: 'online', restartsInWindow: 0 });
    const exits = w.store.events().filter((e) => e.event === 'exit');
    // one per manual restart (PM2's second exit of the same run is dropped)
    expect(exits.filter((e) => e.manual)).toHaveLength(4);
    // the crash-test exits are recorded as what they are
    expect(exits.filter((e) => e.exitCode === 75 && !e.manual)).toHaveLength(6);
  });

  it('rolls a candidate that exits with 78 back at once, and starts the worker on the good revision', async () => {
    const w = await world();
    const good = w.store.revisions()[0]?.id as string;
    const misconfigured = await releaseAndRestart(w, 'process.exit(78);\n');
    const startedAt = w.pm.worker.startedAt;
    w.clock.t = startedAt + 400;
    w.pm.worker = { ...w.pm.worker, status: 'stopped', pid: 0, exitCode: 78 };
    await w.sup.handleEvent(event(w, 'exit', { status: 'stopped', startedAt, exitCode: 78 }));
    const reason = `${misconfigured} exited with 78 (bad configuration) after 0.4 s, which PM2 does not restart`;
    expect(w.store.revision(misconfigured)).toMatchObject({ status: 'bad', reason });
    expect(readCurrent(w.releases)?.revision).toBe(good);
    // PM2 would leave it stopped: the supervisor starts it on the revision it went back to
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
    expect(w.store.state()).toMatchObject({ status: 'rolled_back', lastExitCode: 78 });
    expect(eventNames(w).slice(-3)).toEqual(['exit', 'config_exit', 'rollback']);
  });

  it('rolls back a candidate whose exit with 78 was recorded before the supervisor was killed', async () => {
    const w = await world();
    const good = w.store.revisions()[0]?.id as string;
    const misconfigured = await releaseAndRestart(w, 'process.exit(78);\n');
    const startedAt = w.pm.worker.startedAt;
    w.clock.t = startedAt + 400;
    // recorded, then killed before it acted: PM2 keeps the worker stopped
    w.store.record({
      at: w.clock.t,
      event: 'exit',
      exitCode: 78,
      uptimeMs: 400,
      manual: false,
      revision: misconfigured,
    });
    w.pm.worker = { ...w.pm.worker, status: 'stopped', pid: 0, exitCode: 78 };
    await w.sup.reconcile();
    expect(w.store.revision(misconfigured)?.status).toBe('bad');
    expect(readCurrent(w.releases)?.revision).toBe(good);
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
    // and only once: the rollback starts the count afresh
    await w.sup.reconcile();
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
  });

  it('shows an exit with 78 as stopped, not as a crash loop', async () => {
    const w = await world();
    const startedAt = w.pm.worker.startedAt;
    w.clock.t += 300;
    await w.sup.handleEvent(event(w, 'exit', { status: 'stopped', startedAt, exitCode: 78 }));
    expect(w.store.state()).toMatchObject({
      status: 'stopped',
      lastExitCode: 78,
      reason: expect.stringMatching(/bad configuration/),
    });
    // a good revision is not to blame: nothing is rolled back or restarted
    expect(w.pm.calls).toEqual([]);
    expect(w.store.revisions()[0]?.status).toBe('good');
  });

  it('kills a worker whose heartbeat stopped, and does not count that exit', async () => {
    const w = await world();
    const beat = (at: number): void => {
      w.handle.sqlite
        .prepare(
          `INSERT INTO supervisor_state (name, heartbeat_at, updated_at) VALUES ('worker-heartbeat', ?, ?)
           ON CONFLICT(name) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
        )
        .run(at, at);
    };
    beat(w.clock.t + 1000);
    w.clock.t += 31_000;
    await w.sup.tick();
    expect(w.pm.calls).toEqual([]);
    w.clock.t += 1;
    await w.sup.tick();
    expect(w.pm.calls).toEqual([`SIGKILL ${WORKER_APP}`]);
    expect(w.store.state()).toMatchObject({
      status: 'crashed',
      reason: expect.stringMatching(/^hung: no heartbeat for 30/),
    });
    await w.sup.tick();
    expect(w.pm.calls).toHaveLength(1); // once per run
    await crash(w, 0, null);
    const exit = w.store
      .events()
      .filter((e) => e.event === 'exit')
      .at(-1);
    expect(exit).toMatchObject({ manual: true, detail: '{"kind":"watchdog"}' });
    expect(w.store.state()?.restartsInWindow).toBe(0);
  });

  it('rolls back a candidate that hangs again and again, however far apart the hangs are', async () => {
    const w = await world();
    const good = w.store.revisions()[0]?.id as string;
    const hanging = await releaseAndRestart(w, '// hangs\n');
    // no heartbeat ever: each run is killed after the 30 s timeout, three kills span 90 s > the 60 s window
    for (let i = 0; i < 3; i++) {
      const startedAt = w.pm.worker.startedAt;
      w.clock.t = startedAt + 30_001;
      await w.sup.tick();
      expect(w.pm.calls.at(-1)).toBe(`SIGKILL ${WORKER_APP}`);
      await crash(w, 30_001, null);
    }
    expect(w.store.revision(hanging)).toMatchObject({
      status: 'bad',
      reason: expect.stringMatching(/crashed 3 times since it was put in place/),
    });
    expect(readCurrent(w.releases)?.revision).toBe(good);
    expect(w.pm.calls.at(-1)).toBe(`restart ${WORKER_APP}`);
    expect(w.store.state()?.status).toBe('rolled_back');
  });

  it('rolls back a candidate that keeps dying after the minimum uptime but before promotion', async () => {
    const w = await world();
    const good = w.store.revisions()[0]?.id as string;
    const late = await releaseAndRestart(w, '// dies after 7 s\n');
    await crash(w, 7000);
    await crash(w, 7000);
    expect(w.store.state()).toMatchObject({ status: 'online', restartsInWindow: 2 });
    expect(w.pm.calls).toEqual([]);
    await crash(w, 7000);
    expect(w.store.revision(late)?.status).toBe('bad');
    expect(readCurrent(w.releases)?.revision).toBe(good);
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
  });

  it('keeps counting only quick exits of a good revision, and never its watchdog kills', async () => {
    const w = await world();
    for (let i = 0; i < 4; i++) await crash(w, 7000);
    for (let i = 0; i < 3; i++) {
      w.clock.t = w.pm.worker.startedAt + 30_001;
      await w.sup.tick();
      await crash(w, 30_001, null);
    }
    expect(w.pm.calls).toEqual(Array(3).fill(`SIGKILL ${WORKER_APP}`));
    expect(w.store.state()?.restartsInWindow).toBe(0);
  });

  it('promotes a candidate that ran with heartbeats and reported itself ready for the promotion time', async () => {
    const w = await world();
    const candidate = await releaseAndRestart(w, '// fine\n');
    const startedAt = w.pm.worker.startedAt;
    w.clock.t = startedAt + 2_000;
    reportReadiness(w);
    w.clock.t = startedAt + 9_999;
    beat(w);
    await w.sup.tick();
    expect(w.store.revision(candidate)?.status).toBe('candidate');
    w.clock.t = startedAt + 10_000;
    await w.sup.tick();
    expect(w.store.revision(candidate)).toMatchObject({ status: 'good', promotedAt: startedAt + 10_000 });
    expect(eventNames(w)).toContain('promote');
  });

  it('does not promote a candidate that lives with heartbeats but has not reported itself ready', async () => {
    const w = await world();
    const candidate = await releaseAndRestart(w, '// lives, never polls\n');
    const startedAt = w.pm.worker.startedAt;
    // the previous process was ready: its row says nothing of this one
    reportReadiness(w, { pid: w.pm.worker.pid + 1 });
    w.clock.t = startedAt + 20_000;
    beat(w);
    await w.sup.tick();
    expect(w.store.revision(candidate)?.status).toBe('candidate');
    // this process, but without its self-test
    reportReadiness(w, { selftest: null });
    w.clock.t += 1000;
    beat(w);
    await w.sup.tick();
    expect(w.store.revision(candidate)?.status).toBe('candidate');
    expect(eventNames(w)).not.toContain('promote');
    expect(w.pm.calls).toEqual([]);
    // once ready, it is promoted at the next check
    reportReadiness(w);
    await w.sup.tick();
    expect(w.store.revision(candidate)?.status).toBe('good');
  });

  it('rolls back a candidate that is not ready within SUPERVISOR_READY_SECONDS, naming what it did not reach', async () => {
    const w = await world({ SUPERVISOR_READY_SECONDS: '15', SUPERVISOR_PROMOTE_AFTER_SECONDS: '30' });
    const good = w.store.revisions()[0]?.id as string;
    const slow = await releaseAndRestart(w, '// never polls\n');
    const startedAt = w.pm.worker.startedAt;
    reportReadiness(w, { poll: null, selftest: null });
    w.clock.t = startedAt + 14_999;
    beat(w);
    await w.sup.tick();
    expect(w.pm.calls).toEqual([]);
    w.clock.t = startedAt + 15_000;
    await w.sup.tick();
    const reason = `${slow} was not ready 15 s after it started: it did not answer a poll of Telegram or take a self-test item through its scheduler`;
    expect(w.store.revision(slow)).toMatchObject({ status: 'bad', reason });
    expect(readCurrent(w.releases)?.revision).toBe(good);
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
    expect(w.store.state()?.status).toBe('rolled_back');
    expect(JSON.parse(w.store.lastEvent(['rollback'])?.detail ?? '{}')).toEqual({
      from: slow,
      to: good,
      reason,
    });
    const notReady = w.store.lastEvent(['not_ready']);
    expect(notReady?.revision).toBe(slow);
    expect(JSON.parse(notReady?.detail ?? '{}')).toMatchObject({
      decision: 'rollback',
      missing: ['poll', 'selftest'],
    });
    // the good revision it went back to is never judged on readiness
    w.clock.t += 120_000;
    beat(w);
    await w.sup.tick();
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
    expect(w.store.revision(good)?.status).toBe('good');
  });

  it('judges each run of a candidate on its own readiness deadline', async () => {
    const w = await world({ SUPERVISOR_READY_SECONDS: '15', SUPERVISOR_PROMOTE_AFTER_SECONDS: '30' });
    const candidate = await releaseAndRestart(w, '// ready\n');
    reportReadiness(w);
    w.clock.t = w.pm.worker.startedAt + 8_000;
    await crash(w, 8_000); // PM2 restarts it: a new process, whose row is not written yet
    w.pm.worker = { ...w.pm.worker, pid: w.pm.worker.pid + 1 };
    w.clock.t = w.pm.worker.startedAt + 14_000;
    beat(w);
    await w.sup.tick();
    expect(w.pm.calls).toEqual([]);
    w.clock.t = w.pm.worker.startedAt + 15_000;
    await w.sup.tick();
    expect(w.store.revision(candidate)?.status).toBe('bad');
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
  });

  it('continues the count after a restart of the supervisor itself', async () => {
    const w = await world();
    await releaseAndRestart(w, 'throw new Error("broken");\n');
    await crash(w, 300);
    await crash(w, 300);
    await w.sup.stop();
    const again = new Supervisor({
      config: loadSupervisorConfig({
        AUTONOUS_HOME: w.home,
        TG_DB_PATH: w.handle.path,
        SUPERVISOR_CRASH_LOOP_RESTARTS: '3',
        SUPERVISOR_MIN_UPTIME_SECONDS: '5',
      }),
      store: w.store,
      pm: w.pm,
      now: () => w.clock.t,
      log: quiet,
    });
    w.sup = again;
    await again.start(0);
    expect(w.pm.calls).toEqual([]);
    await crash(w, 300);
    expect(w.store.state()?.status).toBe('rolled_back');
  });

  it('finishes a rollback that was recorded but not carried out', async () => {
    const w = await world();
    const good = w.store.revisions()[0]?.id as string;
    const bad = await releaseAndRestart(w, 'throw new Error("broken");\n');
    // as if the supervisor died between writing the rollback and re-pointing the link
    w.store.markBad(bad, 'x', w.clock.t);
    w.store.record({
      at: w.clock.t,
      event: 'rollback',
      revision: good,
      detail: { from: bad, to: good, reason: 'x' },
    });
    expect(readCurrent(w.releases)?.revision).toBe(bad);
    await w.sup.reconcile();
    expect(readCurrent(w.releases)?.revision).toBe(good);
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
  });

  it('restarts a worker that still runs the code from before the last release', async () => {
    const w = await world();
    w.clock.t += 1000;
    release(w, '// new\n'); // the CLI died before it restarted the worker
    await w.sup.reconcile();
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
    expect(eventNames(w)).toContain('restart_stale');
  });

  it('restarts a stale worker on its periodic check too, after a grace, and only once per release', async () => {
    const w = await world({ SUPERVISOR_HEARTBEAT_TIMEOUT_SECONDS: '0' }); // no watchdog in the way
    w.clock.t += 1000;
    const released = release(w, '// new\n'); // the CLI could not restart the worker (wrong PM2_HOME)
    // PM2 restarts nothing: the worker keeps its old run, whatever is asked
    w.pm.restart = async (name: string): Promise<void> => {
      w.pm.calls.push(`restart ${name}`);
    };
    w.clock.t += 29_999;
    await w.sup.tick();
    expect(w.pm.calls).toEqual([]); // the release command may still be restarting it
    w.clock.t += 1;
    await w.sup.tick();
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
    expect(w.store.lastEvent(['restart_stale'])?.revision).toBe(released);
    for (let i = 0; i < 3; i++) {
      w.clock.t += 60_000;
      await w.sup.tick();
    }
    expect(w.pm.calls).toHaveLength(1); // no restart loop
    // the next release is another chance
    const next = release(w, '// newer\n');
    w.clock.t += 30_000;
    await w.sup.tick();
    expect(w.pm.calls).toHaveLength(2);
    expect(w.store.lastEvent(['restart_stale'])?.revision).toBe(next);
  });

  it('turns rollback off, and says why, when PM2 does not run the worker through current', async () => {
    const w = await world();
    w.pm.worker = { ...w.pm.worker, execPath: path.join(w.home, 'dist', 'worker', 'main.js') };
    await w.sup.reconcile();
    expect(w.store.lastEvent(['misconfigured'])?.detail).toMatch(
      /not .*releases\/current\/dist\/worker\/main\.js: revisions and rollback are off/,
    );
  });
});
