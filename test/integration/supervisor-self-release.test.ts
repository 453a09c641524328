/**
 * The supervisor as the judge of a self-release, against a real database (real migrations) and a
 * real releases folder, with PM2 played by a fake and a clock the test moves: the worker leaves a
 * `requested` row, the supervisor releases it or refuses it, and records what became of it. Also
 * the copy of the database a release with new migrations takes, and `autonous revisions`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import type { CliContext } from '../../src/cli/context';
import { createOutput } from '../../src/cli/output';
import { run } from '../../src/cli/run';
import { MIGRATIONS_FOLDER, openDatabase, type DbHandle } from '../../src/db/open';
import { type CheckSummary, type Readiness, WORKER_APP } from '../../src/shared/contracts';
import type { Logger } from '../../src/shared/log';
import { loadSupervisorConfig } from '../../src/supervisor-hooks/config';
import type { AppInfo, LifecycleEvent, ProcessManager } from '../../src/supervisor-hooks/process-manager';
import {
  pointCurrentAt,
  preMigrateCopyPath,
  readCurrent,
  workerScriptPath,
} from '../../src/supervisor-hooks/releases';
import { pruneRevisions, releaseRevision, type RevisionContext } from '../../src/supervisor-hooks/revisions';
import { SupervisorStore } from '../../src/supervisor-hooks/store';
import { Supervisor } from '../../src/supervisor-hooks/supervisor';

const T0 = 1_700_000_000_000;
const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const COMMIT = '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d';
const PASSED: CheckSummary = {
  passed: true,
  command: 'npm test',
  exitCode: 0,
  timedOut: false,
  seconds: 31,
  tests: { passed: 42, failed: 0, total: 42 },
};

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
    return [this.worker];
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

/** A built worker: its entry, the judge's built code, and the project's real migrations. */
function writeBuild(dir: string, main: string): string {
  const dist = path.join(dir, 'dist');
  fs.mkdirSync(path.join(dist, 'worker'), { recursive: true });
  fs.writeFileSync(path.join(dist, 'worker', 'main.js'), main);
  fs.mkdirSync(path.join(dist, 'supervisor-hooks'), { recursive: true });
  fs.writeFileSync(path.join(dist, 'supervisor-hooks', 'supervisor.js'), '// the judge\n');
  fs.mkdirSync(path.join(dist, 'self-release'), { recursive: true });
  fs.writeFileSync(path.join(dist, 'self-release', 'rules.js'), '// the rules\n');
  fs.cpSync(MIGRATIONS_FOLDER, path.join(dir, 'drizzle'), { recursive: true });
  return dir;
}

/** Adds a migration to a build's drizzle folder, newer than every one the database has. */
function addMigration(buildDir: string, tag: string, sql: string): void {
  const drizzle = path.join(buildDir, 'drizzle');
  fs.writeFileSync(path.join(drizzle, `${tag}.sql`), sql);
  const journalFile = path.join(drizzle, 'meta', '_journal.json');
  const journal = JSON.parse(fs.readFileSync(journalFile, 'utf8')) as {
    entries: { idx: number; when: number; tag: string }[];
  };
  const last = journal.entries.at(-1);
  journal.entries.push({ idx: (last?.idx ?? -1) + 1, when: (last?.when ?? 0) + 1000, tag });
  fs.writeFileSync(journalFile, JSON.stringify(journal));
}

const worlds: World[] = [];

async function world(env: Record<string, string> = {}): Promise<World> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-test-'));
  const home = writeBuild(path.join(root, 'home'), '// the first build\n');
  const dbFile = path.join(root, 'state', 'agent.db');
  const handle = openDatabase(dbFile);
  const config = loadSupervisorConfig({
    AUTONOUS_HOME: home,
    TG_DB_PATH: dbFile,
    SUPERVISOR_CRASH_LOOP_RESTARTS: '3',
    SUPERVISOR_MIN_UPTIME_SECONDS: '5',
    SUPERVISOR_PROMOTE_AFTER_SECONDS: '10',
    SUPERVISOR_READY_SECONDS: '20',
    SUPERVISOR_HEARTBEAT_TIMEOUT_SECONDS: '30',
    ...env,
  });
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

/** What the worker writes when an approver presses Release: the chat's columns too. */
function request(
  w: World,
  buildDir: string | null,
  checks: CheckSummary | null = PASSED,
  commit: string = COMMIT,
): number {
  const result = w.handle.sqlite
    .prepare(
      `INSERT INTO self_releases (chat_id, thread_id, from_id, status, "commit", base_revision, base_commit,
         build_dir, checks, summary, card_message_id, created_at, updated_at)
       VALUES (-100123, 7, 4242, 'requested', ?, ?, 'f00dfeed', ?, ?, 'secret words of the card', 99, ?, ?)`,
    )
    .run(
      commit,
      readCurrent(w.releases)?.revision ?? null,
      buildDir,
      checks === null ? null : JSON.stringify(checks),
      w.clock.t,
      w.clock.t,
    );
  return Number(result.lastInsertRowid);
}

interface Row {
  status: string;
  revision: string | null;
  reason: string | null;
  rolled_back_to: string | null;
  updated_at: number;
}
const row = (w: World, id: number): Row =>
  w.handle.sqlite
    .prepare('SELECT status, revision, reason, rolled_back_to, updated_at FROM self_releases WHERE id = ?')
    .get(id) as Row;

function beat(w: World): void {
  w.handle.sqlite
    .prepare(
      `INSERT INTO supervisor_state (name, heartbeat_at, updated_at) VALUES ('worker-heartbeat', ?, ?)
       ON CONFLICT(name) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
    )
    .run(w.clock.t, w.clock.t);
}

/** The running process reports every part of its readiness, as the worker does. */
function ready(w: World): void {
  const readiness: Readiness = {
    pid: w.pm.worker.pid,
    startedAt: w.pm.worker.startedAt,
    database: w.clock.t,
    poll: w.clock.t,
    selftest: w.clock.t,
  };
  w.handle.sqlite
    .prepare(
      `INSERT INTO supervisor_state (name, readiness, ready_at, updated_at) VALUES ('worker-heartbeat', ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET readiness = excluded.readiness, ready_at = excluded.ready_at`,
    )
    .run(JSON.stringify(readiness), w.clock.t, w.clock.t);
}

function event(w: World, name: string, app: Partial<AppInfo>): LifecycleEvent {
  return { event: name, manual: false, at: w.clock.t, app: { ...w.pm.worker, pid: 0, ...app } };
}

/** The worker dies after `uptimeMs`; PM2 starts it again 100 ms later unless the supervisor acted. */
async function crash(w: World, uptimeMs: number): Promise<void> {
  const startedAt = w.pm.worker.startedAt;
  w.clock.t = startedAt + uptimeMs;
  const acted = w.pm.calls.length;
  await w.sup.handleEvent(event(w, 'exit', { status: 'stopped', startedAt, exitCode: 1 }));
  if (w.pm.calls.length > acted) return;
  w.clock.t += 100;
  w.pm.worker = { ...w.pm.worker, status: 'online', startedAt: w.clock.t };
  await w.sup.handleEvent(event(w, 'online', { status: 'launching', startedAt: w.clock.t }));
}

const releaseDirs = (w: World): string[] =>
  fs
    .readdirSync(w.releases)
    .filter((n) => n !== 'current' && n !== 'node_modules')
    .sort();

describe('self-release requests', () => {
  it('releases a requested build as a candidate with its origin, commit and checks, and restarts the worker', async () => {
    const w = await world();
    const first = w.store.revisions()[0]?.id as string;
    const id = request(w, writeBuild(path.join(w.root, 'build'), '// the better worker\n'));
    w.clock.t += 1000;
    await w.sup.tick();
    const released = row(w, id);
    expect(released).toMatchObject({ status: 'released', reason: null, updated_at: w.clock.t });
    const revision = w.store.revision(released.revision as string);
    expect(revision).toMatchObject({
      status: 'candidate',
      origin: 'self-release',
      commit: COMMIT,
      source: `self-release #${id} of commit 1a2b3c4`,
    });
    expect(JSON.parse(revision?.checks ?? 'null')).toEqual(PASSED);
    expect(readCurrent(w.releases)?.revision).toBe(revision?.id);
    expect(
      fs.readFileSync(path.join(w.releases, revision?.id as string, 'dist', 'worker', 'main.js'), 'utf8'),
    ).toBe('// the better worker\n');
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
    expect(JSON.parse(w.store.lastEvent(['release'])?.detail ?? '{}')).toMatchObject({
      from: first,
      to: revision?.id,
    });
    // one request, one release: the next check has nothing to do
    await w.sup.tick();
    expect(w.store.revisions()).toHaveLength(2);
    expect(w.pm.calls).toHaveLength(1);
  });

  it('records the revision and marks the row released in one transaction: neither is left without the other', async () => {
    const w = await world();
    const id = request(w, writeBuild(path.join(w.root, 'build'), '// new\n'));
    // the row's update fails inside the transaction, as a kill at that instant would end it
    w.handle.sqlite.exec(`CREATE TRIGGER refuse_release BEFORE UPDATE OF status ON self_releases
      WHEN NEW.status = 'released' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`);
    await w.sup.tick();
    expect(w.store.revisions()).toHaveLength(1);
    expect(w.store.lastEvent(['release'])).toBeNull();
    expect(readCurrent(w.releases)?.revision).toBe(w.store.revisions()[0]?.id);
    expect(releaseDirs(w)).toEqual([w.store.revisions()[0]?.id]); // the snapshot was removed again
    expect(row(w, id)).toMatchObject({
      status: 'failed',
      revision: null,
      reason: 'the release failed: disk I/O error',
    });
    expect(w.pm.calls).toEqual([]);
  });

  it('finds a request made before it started, and releases it on its catch-up', async () => {
    const w = await world();
    await w.sup.stop();
    const id = request(w, writeBuild(path.join(w.root, 'build'), '// new\n'));
    const again = new Supervisor({
      config: loadSupervisorConfig({ AUTONOUS_HOME: w.home, TG_DB_PATH: w.handle.path }),
      store: w.store,
      pm: w.pm,
      now: () => w.clock.t,
      log: quiet,
    });
    w.sup = again;
    await again.start(0);
    expect(row(w, id).status).toBe('released');
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`]);
  });

  it("refuses a build whose supervisor code is not the running revision's, and releases nothing", async () => {
    const w = await world();
    const build = writeBuild(path.join(w.root, 'build'), '// new\n');
    fs.appendFileSync(
      path.join(build, 'dist', 'supervisor-hooks', 'supervisor.js'),
      'promoteEverything();\n',
    );
    const id = request(w, build);
    await w.sup.tick();
    expect(row(w, id)).toMatchObject({
      status: 'failed',
      revision: null,
      reason: expect.stringMatching(
        /^the supervisor refused it: its build of dist\/supervisor-hooks\/supervisor\.js is not the running revision's, and the supervisor and the release machinery judge a release/,
      ),
    });
    expect(w.store.revisions()).toHaveLength(1);
    expect(releaseDirs(w)).toEqual([w.store.revisions()[0]?.id]);
    expect(w.pm.calls).toEqual([]);
    expect(JSON.parse(w.store.lastEvent(['self_release_failed'])?.detail ?? '{}')).toMatchObject({
      request: id,
    });
  });

  it('refuses a build without the release machinery the running revision has, or with a new file in it', async () => {
    const w = await world();
    const without = writeBuild(path.join(w.root, 'without'), '// new\n');
    fs.rmSync(path.join(without, 'dist', 'self-release'), { recursive: true });
    const a = request(w, without);
    await w.sup.tick();
    expect(row(w, a).reason).toMatch(/^the supervisor refused it: its build of dist\/self-release\/ is not/);
    const added = writeBuild(path.join(w.root, 'added'), '// new\n');
    fs.writeFileSync(path.join(added, 'dist', 'self-release', 'bypass.js'), '');
    const b = request(w, added);
    await w.sup.tick();
    expect(row(w, b).reason).toMatch(/its build of dist\/self-release\/bypass\.js is not/);
    expect(w.store.revisions()).toHaveLength(1);
  });

  it('refuses a build whose new migration drops a column the running revision reads', async () => {
    const w = await world();
    const build = writeBuild(path.join(w.root, 'build'), '// new\n');
    addMigration(build, '0099_tidy', 'ALTER TABLE `inbox` DROP COLUMN `error`;');
    const id = request(w, build);
    await w.sup.tick();
    expect(row(w, id)).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /^the supervisor refused it: its new migration drizzle\/0099_tidy\.sql drops a column/,
      ),
    });
    expect(w.store.revisions()).toHaveLength(1);
    expect(releaseDirs(w)).toEqual([w.store.revisions()[0]?.id]); // no snapshot, no copy of the database
  });

  it('refuses a request whose build folder holds no built worker, or whose checks did not pass', async () => {
    const w = await world();
    const empty = path.join(w.root, 'empty');
    fs.mkdirSync(empty);
    const a = request(w, empty);
    await w.sup.tick();
    expect(row(w, a).reason).toMatch(/^the supervisor refused it: .*empty\/dist is not a built worker/);
    const b = request(w, writeBuild(path.join(w.root, 'build'), '// new\n'), { ...PASSED, passed: false });
    await w.sup.tick();
    expect(row(w, b)).toMatchObject({
      status: 'failed',
      reason: 'the supervisor refused it: its checks did not pass',
    });
    expect(w.store.revisions()).toHaveLength(1);
    expect(w.pm.calls).toEqual([]);
  });

  it('releases a request while the worker is halted, which ends the halt', async () => {
    const w = await world();
    for (let i = 0; i < 3; i++) await crash(w, 300); // a crash loop of the good revision: halted
    expect(w.store.state()?.status).toBe('halted');
    const id = request(w, writeBuild(path.join(w.root, 'fix'), '// the fix\n'));
    await w.sup.tick();
    expect(row(w, id).status).toBe('released');
    expect(w.store.state()?.status).toBe('starting');
    expect(w.pm.calls).toEqual([`stop ${WORKER_APP}`, `restart ${WORKER_APP}`]);
  });

  it('takes one request at a time: the next waits until the released one is judged', async () => {
    const w = await world();
    const a = request(w, writeBuild(path.join(w.root, 'a'), '// a\n'));
    const b = request(w, writeBuild(path.join(w.root, 'b'), '// b\n'));
    await w.sup.tick();
    expect([row(w, a).status, row(w, b).status]).toEqual(['released', 'requested']);
    const startedAt = w.pm.worker.startedAt;
    w.clock.t = startedAt + 5_000;
    ready(w);
    beat(w);
    await w.sup.tick();
    expect(row(w, b).status).toBe('requested');
    w.clock.t = startedAt + 10_000;
    beat(w);
    await w.sup.tick(); // a is promoted
    expect(row(w, a).status).toBe('promoted');
    await w.sup.tick(); // now b
    expect(row(w, b).status).toBe('released');
    expect(w.pm.calls).toEqual([`restart ${WORKER_APP}`, `restart ${WORKER_APP}`]);
  });
});

describe('self-release outcomes', () => {
  /** A request released, and PM2 reporting the worker it restarted on it. */
  async function released(w: World): Promise<{ id: number; revision: string }> {
    const id = request(w, writeBuild(path.join(w.root, `build-${w.clock.t}`), '// candidate\n'));
    await w.sup.tick();
    w.clock.t = w.pm.worker.startedAt;
    await w.sup.handleEvent(event(w, 'online', { status: 'launching' }));
    return { id, revision: row(w, id).revision as string };
  }

  it('records promoted with the promotion', async () => {
    const w = await world();
    const { id, revision } = await released(w);
    w.clock.t = w.pm.worker.startedAt + 10_000;
    ready(w);
    beat(w);
    await w.sup.tick();
    expect(w.store.revision(revision)?.status).toBe('good');
    expect(row(w, id)).toMatchObject({ status: 'promoted', updated_at: w.clock.t });
  });

  it('records rolled back, with the reason and where it went, when the candidate crash-loops', async () => {
    const w = await world();
    const good = w.store.revisions()[0]?.id as string;
    const { id, revision } = await released(w);
    for (let i = 0; i < 3; i++) await crash(w, 300);
    expect(row(w, id)).toMatchObject({
      status: 'rolled_back',
      rolled_back_to: good,
      reason: `crashed 3 times since it was put in place (a hang killed by the watchdog counts), each before it had run the 10 s that make a candidate good on ${revision}`,
    });
  });

  it('records rolled back when the candidate is not ready in time', async () => {
    const w = await world();
    const good = w.store.revisions()[0]?.id as string;
    const { id, revision } = await released(w);
    w.clock.t = w.pm.worker.startedAt + 20_000;
    beat(w);
    await w.sup.tick();
    expect(row(w, id)).toMatchObject({
      status: 'rolled_back',
      rolled_back_to: good,
      reason: expect.stringMatching(new RegExp(`^${revision} was not ready 20 s after it started`)),
    });
  });

  it('records rolled back when a release by hand replaces the candidate before it was judged', async () => {
    const w = await world();
    const { id, revision } = await released(w);
    const byHand = writeBuild(path.join(w.root, 'by-hand'), '// by hand\n');
    w.clock.t += 1000;
    const made = releaseRevision(
      w.ctx,
      { distDir: path.join(byHand, 'dist'), drizzleDir: path.join(byHand, 'drizzle') },
      'a fix by hand',
      w.clock.t,
    );
    expect(row(w, id)).toMatchObject({
      status: 'rolled_back',
      rolled_back_to: made.revision.id,
      reason: `replaced by ${made.revision.id} (a fix by hand) before it was judged`,
    });
    expect(w.store.revision(revision)?.status).toBe('candidate');
  });

  it('records rolled back to nothing, with the halt reason, when there is no good revision to go to', async () => {
    const w = await world();
    const first = w.store.revisions()[0]?.id as string;
    w.store.markBad(first, 'marked by the test', w.clock.t);
    const { id } = await released(w);
    for (let i = 0; i < 3; i++) await crash(w, 300);
    expect(w.store.state()?.status).toBe('halted');
    expect(row(w, id)).toMatchObject({
      status: 'rolled_back',
      rolled_back_to: null,
      reason: expect.stringMatching(/there is no good revision to roll back to/),
    });
  });
});

describe('the copy of the database before new migrations', () => {
  it('is taken only when the release brings migrations the database has not applied, and goes with the revision', async () => {
    const w = await world();
    w.handle.sqlite
      .prepare(`INSERT INTO kv (key, value, updated_at) VALUES ('before', 'the migration', ?)`)
      .run(w.clock.t);
    const plain = writeBuild(path.join(w.root, 'plain'), '// same schema\n');
    const same = releaseRevision(
      w.ctx,
      { distDir: path.join(plain, 'dist'), drizzleDir: path.join(plain, 'drizzle') },
      'plain',
      w.clock.t,
    );
    expect(same.preMigrateCopy).toBeNull();
    expect(fs.existsSync(preMigrateCopyPath(w.releases, same.revision.id))).toBe(false);
    expect(JSON.parse(w.store.lastEvent(['release'])?.detail ?? '{}')).not.toHaveProperty('preMigrateCopy');

    const migrating = writeBuild(path.join(w.root, 'migrating'), '// new table\n');
    addMigration(migrating, '0099_notes', 'CREATE TABLE `notes` (`id` integer PRIMARY KEY);');
    w.clock.t += 1000;
    const made = releaseRevision(
      w.ctx,
      { distDir: path.join(migrating, 'dist'), drizzleDir: path.join(migrating, 'drizzle') },
      'migrating',
      w.clock.t,
    );
    const copy = preMigrateCopyPath(w.releases, made.revision.id);
    expect(made.preMigrateCopy).toBe(copy);
    expect(JSON.parse(w.store.lastEvent(['release'])?.detail ?? '{}')).toMatchObject({
      preMigrateCopy: copy,
    });
    expect(fs.statSync(copy).mode & 0o777).toBe(0o600);
    const snapshot = new Database(copy, { readonly: true });
    try {
      expect(snapshot.prepare(`SELECT value FROM kv WHERE key = 'before'`).get()).toEqual({
        value: 'the migration',
      });
    } finally {
      snapshot.close();
    }
    // deleted when its revision is pruned: two later revisions that ran well push it out
    const ctx = { ...w.ctx, keep: 1 };
    for (let i = 0; i < 2; i++) {
      const next = writeBuild(path.join(w.root, `later-${i}`), `// later ${i}\n`);
      w.clock.t += 1000;
      const later = releaseRevision(
        ctx,
        { distDir: path.join(next, 'dist'), drizzleDir: path.join(next, 'drizzle') },
        `later ${i}`,
        w.clock.t,
      );
      w.store.promote(later.revision.id, w.clock.t);
    }
    pruneRevisions(ctx);
    expect(w.store.revision(made.revision.id)).toBeNull();
    expect(fs.existsSync(copy)).toBe(false);
  });
});

describe('autonous revisions', () => {
  async function cli(w: World, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const ctx: CliContext = {
      out: createOutput(stdout, stderr, { NO_COLOR: '1' }),
      env: {
        AUTONOUS_ENV_FILE: '/dev/null',
        AUTONOUS_HOME: w.home,
        PM2_HOME: path.join(w.root, 'no-pm2'),
        NO_COLOR: '1',
      },
      now: () => w.clock.t,
      exitCode: 0,
    };
    const code = await run(['node', 'autonous', '--db', w.handle.path, ...args], ctx);
    return { code, stdout: out, stderr: err };
  }

  it('lists where each revision came from and what its checks said, and shows one with its events', async () => {
    const w = await world();
    const first = w.store.revisions()[0]?.id as string;
    const id = request(w, writeBuild(path.join(w.root, 'build'), '// new\n'));
    await w.sup.tick();
    const candidate = row(w, id).revision as string;

    // a release from a folder in a git checkout records the checkout's commit
    const repo = writeBuild(path.join(w.root, 'checkout'), '// by hand\n');
    const git = (...args: string[]): string =>
      spawnSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args], {
        encoding: 'utf8',
      }).stdout.trim();
    git('init', '-q');
    git('commit', '-q', '--allow-empty', '-m', 'x');
    const head = git('rev-parse', 'HEAD');
    expect(head).toMatch(/^[0-9a-f]{40}$/);
    w.clock.t += 1000;
    const byHand = await cli(w, ['release', '--from', path.join(repo, 'dist')]);
    expect(byHand.stderr).toMatch(/was not restarted/); // no PM2 here: recorded, not restarted
    const cliRevision = /Released (r\d+-[0-9a-f]{7})/.exec(byHand.stdout)?.[1] as string;
    expect(w.store.revision(cliRevision)).toMatchObject({ origin: 'cli', commit: head, checks: null });

    const ls = await cli(w, ['revisions', 'ls']);
    expect(ls.code).toBe(0);
    const lines = ls.stdout.split('\n');
    expect(lines[0]).toMatch(/REVISION +STATUS +CREATED +GOOD\/BAD +ORIGIN +CHECKS/);
    expect(lines.find((l) => l.includes(candidate))).toMatch(
      new RegExp(`self-release #${id} @1a2b3c4 +passed, 42 tests`),
    );
    expect(lines.find((l) => l.includes(first))).toMatch(/first start +- /);
    expect(lines.find((l) => l.includes(cliRevision))).toMatch(new RegExp(`cli @${head.slice(0, 7)} +-`));

    const json = JSON.parse((await cli(w, ['--json', 'revisions', 'ls'])).stdout) as Record<
      string,
      unknown
    >[];
    expect(json.find((r) => r.id === candidate)).toMatchObject({
      origin: 'self-release',
      commit: COMMIT,
      checks: PASSED,
      // the release by hand replaced it before it was judged
      selfRelease: { id, status: 'rolled_back' },
    });

    // the operator rolls the by-hand release back (to the first revision, the only good one)
    const rolled = await cli(w, ['rollback']);
    expect(rolled.stdout).toMatch(new RegExp(`Rolled back from ${cliRevision}`));
    const show = await cli(w, ['revisions', 'show', candidate.split('-')[0] as string]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`revision +${candidate}\n`));
    expect(show.stdout).toMatch(/status +candidate/);
    expect(show.stdout).toMatch(new RegExp(`origin +self-release #${id} @1a2b3c4`));
    expect(show.stdout).toMatch(new RegExp(`commit +${COMMIT}`));
    expect(show.stdout).toMatch(
      new RegExp(`self-release +#${id}, rolled back to ${cliRevision}: replaced by ${cliRevision} \\(`),
    );
    expect(show.stdout).toMatch(/Checks\nresult +passed, 42 tests\ncommand +npm test\nexit code +0/);
    expect(show.stdout).toMatch(/tests +42 passed, 0 failed, 42 in all/);
    expect(show.stdout).toMatch(/Events\nID +AT +EVENT/);
    expect(show.stdout).toMatch(/ release +.*"source":"self-release #/);
    // never the chat's columns
    expect(show.stdout).not.toMatch(/secret words|-100123/);

    const shown = JSON.parse((await cli(w, ['--json', 'revisions', 'show', candidate])).stdout) as {
      events: { event: string }[];
    };
    expect(shown).toMatchObject({ id: candidate, origin: 'self-release', checks: PASSED });
    expect(shown.events.map((e) => e.event)).toContain('release');

    // the rollback away from the by-hand revision is among its events
    const away = await cli(w, ['revisions', 'show', cliRevision]);
    expect(away.stdout).toMatch(/ rollback +/);
  });
});
