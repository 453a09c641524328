import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { loadWorkerConfig } from '../../src/shared/config';
import type { Logger } from '../../src/shared/log';
import { startWorker } from '../../src/worker/app';
import { lastUserText, openAIErrors, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram';
import { waitUntil } from '../helpers/wait-until';
import { TEST_API_KEY, workerEnv } from '../helpers/worker-env';
import { BWRAP_WORKS } from '../helpers/temp-dir';
import { runCli, type CliResult } from '../helpers/run-cli';

// The built `bin/autonous` as a child process, against a database the real worker filled through
// the local fakes: every command in table and JSON form, exit codes, and what must not change.

const REPO = path.resolve(__dirname, '..', '..');
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);

/** The documented fields of an item in `queue ls --json` and `queue dead --json` (docs/cli.md, section queue ls). */
const ITEM_FIELDS = [
  'id',
  'updateId',
  'chatId',
  'messageId',
  'kind',
  'status',
  'attempts',
  'text',
  'textTruncated',
  'error',
  'errorClass',
  'errorCode',
  'hasReply',
  'receivedAt',
  'availableAt',
  'startedAt',
  'finishedAt',
].sort();

const LONG_TEXT = `a long question ${'that goes on and on '.repeat(12)}until the end`;

let dir: string;
let golden: string;
let pm2Home: string;
let telegram: FakeTelegram;
let openai: FakeOpenAI;

/** Runs the CLI; nothing from the developer's environment: no real PM2, env file, database or secrets. */
function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { HOME: dir, PM2_HOME: pm2Home, ...env });
}

/** A private copy of the filled database, for commands that change it. */
function copyDb(): string {
  const copy = path.join(fs.mkdtempSync(path.join(dir, 'copy-')), 'agent.db');
  fs.copyFileSync(golden, copy);
  return copy;
}

function query<T>(file: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

const idOf = (file: string, text: string): number =>
  query<{ id: number }>(file, 'SELECT id FROM inbox WHERE text = ?', text)[0]!.id;

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

beforeAll(async () => {
  if (!fs.existsSync(path.join(REPO, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/cli/main.js is missing: build first (npm run build).');
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-cli-'));
  golden = path.join(dir, 'agent.db');
  pm2Home = path.join(dir, 'pm2-home');
  fs.mkdirSync(pm2Home);
  telegram = await startFakeTelegram();
  openai = await startFakeOpenAI();
  openai.failWhen((req) => lastUserText(req) === 'poison', {
    status: 400,
    error: {
      message: 'Invalid value for messages.',
      type: 'invalid_request_error',
      param: 'messages',
      code: null,
    },
  });
  openai.failWhen((req) => lastUserText(req) === 'flaky', openAIErrors.serverError());

  // The real worker path: ingress → inbox → processor → fakes. A long retry delay keeps the
  // transient failure `failed`; the permanent one is `dead`; chat 999 is not allowed: `skipped`.
  const config = loadWorkerConfig(
    workerEnv(telegram, openai, golden, {
      WORKER_MAX_ATTEMPTS: '3',
      WORKER_RETRY_BASE_SECONDS: '600',
      WORKER_RETRY_MAX_SECONDS: '600',
    }),
  );
  const worker = await startWorker(config, { log: silent });
  try {
    telegram.pushMessage(101, 'hello one');
    telegram.pushMessage(102, 'poison');
    telegram.pushMessage(103, 'flaky');
    telegram.pushMessage(999, 'stranger');
    telegram.pushMessage(101, 'hello two');
    telegram.pushMessage(101, LONG_TEXT);
    await telegram.waitForSent(3, 20_000);
    await waitUntil(
      () => {
        const statuses = query<{ status: string }>(golden, 'SELECT status FROM inbox').map((r) => r.status);
        return statuses.length === 6 && !statuses.some((s) => s === 'queued' || s === 'processing');
      },
      20_000,
      () =>
        `the worker settling every item: ${JSON.stringify(query(golden, 'SELECT text, status FROM inbox'))}`,
    );
  } finally {
    await worker.stop(1000);
  }
}, 60_000);

afterAll(async () => {
  await telegram?.close();
  await openai?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the filled database', () => {
  it('holds every status the worker produces', () => {
    const rows = query<{ text: string; status: string }>(
      golden,
      'SELECT text, status FROM inbox ORDER BY id',
    );
    expect(Object.fromEntries(rows.map((r) => [r.text ?? '(none)', r.status]))).toMatchObject({
      'hello one': 'done',
      poison: 'dead',
      flaky: 'failed',
      'hello two': 'done',
      [LONG_TEXT]: 'done',
    });
    expect(rows.filter((r) => r.status === 'skipped')).toHaveLength(1);
  });
});

describe('queue ls', () => {
  it('prints a table, newest first, text cut short, without colour when piped', async () => {
    const { code, stdout, stderr } = await cli(['--db', golden, 'queue', 'ls']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+UPDATE\s+CHAT\s+STATUS\s+ATT\s+AGE\s+NEXT\s+ERROR\s+TEXT$/);
    expect(lines).toHaveLength(7);
    expect(stdout).toContain('hello one');
    expect(stdout).toContain('…');
    expect(stdout).not.toContain(LONG_TEXT);
    expect(stdout).toMatch(/\bdead\b/);
    expect(stdout).toMatch(/failed .* in \d+m/);
    expect(stdout).not.toMatch(ANSI);
  });

  it('shows whole messages with --full', async () => {
    const { code, stdout } = await cli(['--db', golden, 'queue', 'ls', '--full']);
    expect(code).toBe(0);
    expect(stdout).toContain(LONG_TEXT);
  });

  it('prints JSON items with exactly the documented fields', async () => {
    const { code, stdout } = await cli(['queue', 'ls', '--json'], { TG_DB_PATH: golden });
    expect(code).toBe(0);
    const items = JSON.parse(stdout) as Record<string, unknown>[];
    expect(items).toHaveLength(6);
    for (const item of items) expect(Object.keys(item).sort()).toEqual(ITEM_FIELDS);
    expect(items.map((i) => i.id)).toEqual([...items.map((i) => i.id as number)].sort((a, b) => b - a));
    expect(new Set(items.map((i) => i.status))).toEqual(new Set(['done', 'dead', 'failed', 'skipped']));
    const long = items.find(
      (i) => typeof i.text === 'string' && (i.text as string).startsWith('a long question'),
    )!;
    expect(long.textTruncated).toBe(true);
    expect(long.hasReply).toBe(true);
  });

  it('filters by status, chat and limit', async () => {
    const dead = JSON.parse(
      (await cli(['--db', golden, 'queue', 'ls', '--status', 'dead', '--json'])).stdout,
    );
    expect(dead).toEqual([
      expect.objectContaining({
        text: 'poison',
        status: 'dead',
        errorClass: 'permanent',
        error: expect.stringContaining('400'),
      }),
    ]);
    const chat = JSON.parse(
      (await cli(['--db', golden, 'queue', 'ls', '--chat', '101', '--limit', '2', '--json'])).stdout,
    );
    expect(chat.map((i: { chatId: number }) => i.chatId)).toEqual([101, 101]);
    const none = await cli(['--db', golden, 'queue', 'ls', '--chat', '-100123']);
    expect(none).toEqual({ code: 0, stdout: 'No items match.\n', stderr: '' });
  });
});

describe('queue dead', () => {
  it('lists the dead letters as a table and as JSON', async () => {
    const table = await cli(['--db', golden, 'queue', 'dead']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+CHAT\s+ATT\s+ERROR\s+CLASS\s+DIED\s+TEXT/);
    expect(table.stdout).toContain('poison');
    expect(table.stdout).toContain('permanent/');
    const json = JSON.parse((await cli(['--db', golden, '--json', 'queue', 'dead'])).stdout) as Record<
      string,
      unknown
    >[];
    expect(json).toHaveLength(1);
    expect(Object.keys(json[0]!).sort()).toEqual(ITEM_FIELDS);
    expect(json[0]).toMatchObject({ text: 'poison', chatId: 102, attempts: 1 });
  });
});

describe('queue stats', () => {
  it('reports counts, latency, error rate and top errors, as a screen and as JSON', async () => {
    const table = await cli(['--db', golden, 'queue', 'stats', '--since', '1h']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /queue\s+queued 0 {2}processing 0 {2}done 3 {2}failed 1 {2}dead 1 {2}skipped 1/,
    );
    expect(table.stdout).toMatch(/latency\s+p50 \S+ {2}p95 \S+ {2}max \S+/);
    expect(table.stdout).toContain('25.0% (1 dead of 4 finished)');
    expect(table.stdout).toContain('Most common errors:');

    const stats = JSON.parse((await cli(['--db', golden, 'queue', 'stats', '--json'])).stdout);
    expect(Object.keys(stats).sort()).toEqual(
      [
        'since',
        'now',
        'windowMs',
        'counts',
        'oldestWaitingAt',
        'oldestWaitingAgeMs',
        'done',
        'dead',
        'throughputPerHour',
        'latencyMs',
        'errorRate',
        'topErrors',
      ].sort(),
    );
    expect(stats.windowMs).toBe(24 * 3_600_000);
    expect(stats.counts).toEqual({
      queued: 0,
      processing: 0,
      done: 3,
      failed: 1,
      dead: 1,
      skipped: 1,
      parked: 0,
    });
    expect(stats.latencyMs).toEqual({
      count: 3,
      p50: expect.any(Number),
      p95: expect.any(Number),
      max: expect.any(Number),
    });
    expect(stats.latencyMs.p50).toBeLessThanOrEqual(stats.latencyMs.max);
    expect(stats.errorRate).toBe(0.25);
    expect(stats.oldestWaitingAgeMs).toBeGreaterThanOrEqual(0);
    const classes = stats.topErrors.map((e: { errorClass: string; count: number }) => [
      e.errorClass,
      e.count,
    ]);
    expect(classes.sort()).toEqual([
      ['permanent', 1],
      ['transient', 1],
    ]);
    for (const e of stats.topErrors)
      expect(Object.keys(e).sort()).toEqual(['count', 'error', 'errorClass', 'errorCode']);
  });
});

describe('queue retry', () => {
  it('requeues a dead item by id and prints what it requeued', async () => {
    const db = copyDb();
    const id = idOf(db, 'poison');
    const { code, stdout } = await cli(['--db', db, 'queue', 'retry', String(id)]);
    expect(code).toBe(0);
    expect(stdout).toContain('Requeued 1 item');
    expect(stdout).toMatch(new RegExp(`${id}\\s+update \\d+\\s+chat 102\\s+\\(was dead\\)`));
    expect(query(db, 'SELECT status, attempts, error FROM inbox WHERE id = ?', id)).toEqual([
      { status: 'queued', attempts: 0, error: null },
    ]);
  });

  it('requeues by status as JSON', async () => {
    const db = copyDb();
    const { code, stdout } = await cli(['--db', db, 'queue', 'retry', '--status', 'failed', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      count: 1,
      requeued: [
        {
          id: idOf(db, 'flaky'),
          updateId: expect.any(Number),
          chatId: 103,
          previousStatus: 'failed',
          killedWorker: false,
        },
      ],
    });
    const all = JSON.parse((await cli(['--db', db, 'queue', 'retry', '--all-dead', '--json'])).stdout);
    expect(all.count).toBe(1);
  });

  it('exits 1 with a sentence for an unknown id or a done item, and requeues nothing', async () => {
    const db = copyDb();
    const dead = idOf(db, 'poison');
    const unknown = await cli(['--db', db, 'queue', 'retry', String(dead), '9999']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('error: There is no inbox item with id 9999. Nothing was requeued.\n');
    const done = await cli(['--db', db, 'queue', 'retry', String(idOf(db, 'hello one'))]);
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/^error: Item \d+ is done: it was answered already/);
    expect(query(db, 'SELECT status FROM inbox WHERE id = ?', dead)).toEqual([{ status: 'dead' }]);
  });
});

describe('queue purge', () => {
  const dump = (file: string) => ({
    inbox: query(file, 'SELECT * FROM inbox ORDER BY id'),
    history: query(file, 'SELECT * FROM history ORDER BY id'),
  });

  it('changes nothing with --dry-run and says what would go', async () => {
    const db = copyDb();
    const before = dump(db);
    const table = await cli([
      '--db',
      db,
      'queue',
      'purge',
      '--status',
      'done',
      '--older-than',
      '0s',
      '--dry-run',
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^Dry run: would delete 3 done items finished before/);
    const json = await cli([
      '--db',
      db,
      'queue',
      'purge',
      '--status',
      'done',
      '--older-than',
      '0s',
      '--dry-run',
      '--json',
    ]);
    expect(JSON.parse(json.stdout)).toEqual({
      dryRun: true,
      status: 'done',
      olderThanMs: 0,
      finishedBefore: expect.any(Number),
      matched: 3,
      deleted: 0,
      firstId: expect.any(Number),
      lastId: expect.any(Number),
    });
    expect(dump(db)).toEqual(before);
  });

  it('without --dry-run deletes only the matching rows and keeps their history text', async () => {
    const db = copyDb();
    const before = dump(db);
    const kept = await cli([
      '--db',
      db,
      'queue',
      'purge',
      '--status',
      'done',
      '--older-than',
      '1d',
      '--json',
    ]);
    expect(JSON.parse(kept.stdout)).toMatchObject({ matched: 0, deleted: 0 });
    expect(dump(db)).toEqual(before);

    const { code, stdout } = await cli([
      '--db',
      db,
      'queue',
      'purge',
      '--status',
      'done',
      '--older-than',
      '0s',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Deleted 3 done items/);
    const statuses = query<{ status: string }>(db, 'SELECT status FROM inbox ORDER BY id').map(
      (r) => r.status,
    );
    expect(statuses.sort()).toEqual(['dead', 'failed', 'skipped']);
    const history = query<{ text: string; inbox_id: number | null }>(
      db,
      'SELECT text, inbox_id FROM history ORDER BY id',
    );
    expect(history.map((h) => h.text)).toEqual((before.history as { text: string }[]).map((h) => h.text));
    expect(history.every((h) => h.inbox_id === null)).toBe(true);
  });
});

describe('usage errors', () => {
  it.each([
    [
      ['queue', 'ls', '--status', 'lost'],
      /Allowed choices are queued, processing, done, failed, dead, skipped/,
    ],
    [
      ['queue', 'purge', '--status', 'queued', '--older-than', '7d'],
      /Allowed choices are done, dead, skipped/,
    ],
    [['queue', 'retry', '--status', 'done'], /Allowed choices are failed, dead, skipped/],
    [['queue', 'purge', '--older-than', '7d'], /required option '--status <status>' not specified/],
    [['queue', 'purge', '--status', 'done', '--older-than', 'a week'], /It must be a duration like 30s, 15m/],
    [['queue', 'ls', '--limit', 'many'], /It must be a whole number from 1 to 10000/],
    [['queue', 'ls', '--bogus'], /unknown option '--bogus'/],
    [['queue', 'retry'], /Give item ids, or --all-dead, or --status <status>/],
    [['queue', 'retry', '12', '--all-dead'], /exactly one of them/],
    [['queue', 'retry', 'twelve'], /"twelve" is not an inbox id/],
    [['queue', 'frobnicate'], /unknown command 'frobnicate'/],
    [['queue'], /Usage: autonous queue/],
    [[], /Usage: autonous/],
  ])('autonous %j exits 2 and says why', async (args, message) => {
    const { code, stderr } = await cli(['--db', golden, ...args]);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('--help and --version exit 0', async () => {
    const help = await cli(['queue', 'ls', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--status <status>');
    expect(help.stdout).toContain('--db <path>');
    const version = await cli(['--version']);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('a missing database is a failure with a sentence, and is not created', async () => {
    const missing = path.join(dir, 'nowhere', 'agent.db');
    const { code, stderr } = await cli(['--db', missing, 'queue', 'ls']);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `error: There is no database at ${missing}: start the worker once (npm start), or point --db or TG_DB_PATH at the file.\n`,
    );
    expect(fs.existsSync(missing)).toBe(false);
  });
});

describe('status', () => {
  it('exits 1 without a PM2 daemon, shows the queue, and starts no daemon', async () => {
    const table = await cli(['--db', golden, 'status']);
    expect(table.code).toBe(1);
    expect(table.stdout).toContain('PM2 unreachable');
    expect(table.stdout).toMatch(/queue\s+queued 0 {2}processing 0 {2}done 3/);
    expect(table.stdout).toContain('✗ PM2 is not reachable');
    expect(table.stdout).toContain('1 message died in the last 1h');

    const json = await cli(['--db', golden, 'status', '--json']);
    expect(json.code).toBe(1);
    const status = JSON.parse(json.stdout);
    expect(Object.keys(status).sort()).toEqual(
      [
        'ok',
        'problems',
        'warnings',
        'checkedAt',
        'pm2',
        'supervisor',
        'heartbeatAt',
        'heartbeatAgeMs',
        'revision',
        'queue',
        'health',
        'selfReleaseOff',
      ].sort(),
    );
    expect(status.ok).toBe(false);
    expect(status.pm2).toEqual({ reachable: false, home: pm2Home, error: expect.any(String), apps: [] });
    expect(status.heartbeatAt).toEqual(expect.any(Number));
    expect(Object.keys(status.queue).sort()).toEqual(
      ['counts', 'oldestWaitingAt', 'oldestWaitingAgeMs', 'deadRecent', 'deadWindowMs'].sort(),
    );
    expect(status.queue.deadRecent).toBe(1);
    // no daemon was started as a side effect: PM2_HOME is as empty as before
    expect(fs.readdirSync(pm2Home)).toEqual([]);
  });

  it("shows the supervisor's state and revision and calls halted a problem", async () => {
    const db = copyDb();
    const write = new Database(db);
    const now = Date.now();
    write
      .prepare(
        `INSERT INTO supervisor_state (name, status, reason, restarts_in_window, last_exit_code, revision, since, updated_at)
         VALUES ('autonous-worker', 'halted', 'crash loop on good revision r1', 5, 1, 'r1', ?, ?)`,
      )
      .run(now - 60_000, now);
    write
      .prepare(
        `INSERT INTO supervisor_revisions (id, path, status, created_at) VALUES ('r1', '/srv/r1', 'good', ?)`,
      )
      .run(now - 3_600_000);
    write.close();
    const table = await cli(['--db', db, 'status', '--dead-since', '1s']);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/supervisor\s+halted, since 1m ago, 5 restarts in window, last exit code 1/);
    expect(table.stdout).toMatch(/revision\s+r1 \(good, created 1h ago\)/);
    expect(table.stdout).toContain(
      'The supervisor reports the worker halted: crash loop on good revision r1.',
    );
    const status = JSON.parse((await cli(['--db', db, 'status', '--json'])).stdout);
    expect(status.supervisor).toEqual({
      status: 'halted',
      reason: 'crash loop on good revision r1',
      restartsInWindow: 5,
      lastExitCode: 1,
      revision: 'r1',
      since: now - 60_000,
      updatedAt: now,
    });
    expect(status.revision).toMatchObject({ id: 'r1', status: 'good', createdAt: now - 3_600_000 });
  });
});

const AS_ROOT = process.getuid?.() === 0;

describe('doctor', () => {
  const fullEnv = (extra: Record<string, string> = {}): Record<string, string> =>
    workerEnv(telegram, openai, golden, extra);

  /** Fields of every line must be documented; secrets never appear. */
  function expectClean(result: CliResult): void {
    for (const text of [result.stdout, result.stderr]) {
      expect(text).not.toContain(telegram.token);
      expect(text).not.toContain(telegram.token.split(':')[1]);
      expect(text).not.toContain(TEST_API_KEY);
    }
  }

  it('passes config, database, Telegram and OpenAI against the fakes, and fails PM2 without a daemon', async () => {
    const result = await cli(['doctor'], fullEnv());
    expectClean(result);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✓ config\s+every worker variable is set and valid/);
    expect(result.stdout).toMatch(/✓ database\s+.*migrated, writable, integrity ok/);
    expect(result.stdout).toMatch(/✓ telegram\s+getMe answered: @autonous_test_bot/);
    expect(result.stdout).toMatch(/✓ openai\s+.* answered via/);
    expect(result.stdout).toMatch(/✗ pm2\s+the PM2 daemon is not reachable/);
    expect(result.stdout).toMatch(/fix: Start the apps/);

    const json = await cli(['doctor', '--json'], fullEnv());
    expectClean(json);
    const report = JSON.parse(json.stdout);
    expect(report.ok).toBe(false);
    expect(report.checks.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
      ['config', 'ok'],
      ['database', 'ok'],
      ['telegram', 'ok'],
      ['openai', 'ok'],
      ['pm2', 'fail'],
      // how the agent's commands run: bubblewrap where it works here, else unsandboxed with a
      // warning; a worker run as root is a warning either way
      ['sandbox', BWRAP_WORKS && !AS_ROOT ? 'ok' : 'warn'],
    ]);
    for (const check of report.checks)
      expect(Object.keys(check).sort()).toEqual(['detail', 'fix', 'name', 'status']);
    const sandbox = report.checks.find((c: { name: string }) => c.name === 'sandbox') as { detail: string };
    if (BWRAP_WORKS) {
      // the mount policy in full
      expect(sandbox.detail).toMatch(/read-only: \/usr/);
      expect(sandbox.detail).toMatch(/not mounted: the home folder, PM2 home, \/run/);
    }
    if (AS_ROOT) expect(sandbox.detail).toMatch(/the worker runs as root: commands run as uid 65534/);
  });

  it("says when the agent's commands would run unsandboxed, and fails AGENT_SANDBOX=bwrap without bwrap", async () => {
    const off = await cli(['doctor'], { ...fullEnv(), AGENT_SANDBOX: 'off' });
    expect(off.stdout).toMatch(/! sandbox\s+commands run unsandboxed \(AGENT_SANDBOX=off\)/);
    // a PATH without bwrap: bwrap mode cannot work, and the worker would refuse to start
    const missing = await cli(['doctor', '--json'], {
      ...fullEnv(),
      AGENT_SANDBOX: 'bwrap',
      PATH: '/nonexistent',
    });
    const sandbox = JSON.parse(missing.stdout).checks.find((c: { name: string }) => c.name === 'sandbox');
    expect(sandbox).toMatchObject({ status: 'fail', fix: expect.stringContaining('bubblewrap') });
  });

  it('names a missing variable and skips the check that needs it', async () => {
    const env = fullEnv();
    delete env.OPENAI_API_KEY;
    const result = await cli(['doctor'], env);
    expectClean(result);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ config\s+a variable is missing or malformed: OPENAI_API_KEY/);
    expect(result.stdout).toContain('fix: OPENAI_API_KEY is not set');
    expect(result.stdout).toMatch(/- openai\s+skipped/);
    expect(result.stdout).toMatch(/✓ telegram/);
  });

  it('reports a Telegram that does not answer as a failed check with the fix', async () => {
    const down = http.createServer();
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const port = (down.address() as AddressInfo).port;
    await new Promise<void>((resolve) => down.close(() => resolve()));
    const result = await cli(
      ['doctor', '--json'],
      fullEnv({ TELEGRAM_API_ROOT: `http://127.0.0.1:${port}` }),
    );
    expectClean(result);
    expect(result.code).toBe(1);
    const telegramCheck = JSON.parse(result.stdout).checks.find(
      (c: { name: string }) => c.name === 'telegram',
    );
    expect(telegramCheck).toEqual({
      name: 'telegram',
      status: 'fail',
      detail: expect.stringContaining(`cannot reach Telegram at http://127.0.0.1:${port}`),
      fix: expect.stringContaining('TELEGRAM_API_ROOT'),
    });
  });
});
