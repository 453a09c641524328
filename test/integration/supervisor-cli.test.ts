/**
 * `autonous release | rollback | revisions ls | supervisor events | supervisor resume` as the built
 * CLI, against a real database and releases folder, with no PM2 daemon (the worker's restart is
 * reported as not done, never attempted by starting a daemon).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db/open';
import { SupervisorStore } from '../../src/supervisor-hooks/store';
import { runCli, type CliResult } from '../helpers/run-cli';

jest.setTimeout(60_000);

let dir: string;
let dbPath: string;
let pm2Home: string;

function cli(args: readonly string[]): Promise<CliResult> {
  return runCli(
    args,
    { HOME: dir, PM2_HOME: pm2Home, TG_DB_PATH: dbPath, NO_COLOR: '1', SUPERVISOR_KEEP_REVISIONS: '2' },
    { cwd: dir, timeoutMs: 60_000 },
  );
}

function withStore<T>(work: (store: SupervisorStore) => T): T {
  const handle = openDatabase(dbPath);
  try {
    return work(new SupervisorStore(handle));
  } finally {
    handle.close();
  }
}

function builtDist(name: string): string {
  const dist = path.join(dir, name, 'dist');
  fs.mkdirSync(path.join(dist, 'worker'), { recursive: true });
  fs.writeFileSync(path.join(dist, 'worker', 'main.js'), `// ${name}\n`);
  return dist;
}

const releasedId = (stdout: string): string => /Released (r\d+-[0-9a-f]{7})/.exec(stdout)?.[1] ?? '';

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-test-'));
  dbPath = path.join(dir, 'state', 'agent.db');
  pm2Home = path.join(dir, 'pm2');
  fs.mkdirSync(pm2Home);
  openDatabase(dbPath).close();
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('revision commands', () => {
  it('releases a fresh build of the working tree by default, recording the checkout', async () => {
    const result = await cli(['release']);
    // recorded, but the worker was not restarted: a caller must not read that as success
    expect(result.code).toBe(1);
    const id = releasedId(result.stdout);
    expect(id).toMatch(/^r2-/);
    expect(result.stderr).toMatch(/Building the worker from /);
    expect(result.stderr).toMatch(
      new RegExp(
        `error: ${id} is released \\(a candidate\\) and current points at it, but the worker was not restarted and still runs the code it ran before \\(No PM2 daemon answers in .*\\)\\. Set PM2_HOME .*pm2 restart autonous-worker`,
      ),
    );
    const releases = path.join(dir, 'state', 'releases');
    expect(fs.existsSync(path.join(releases, id, 'dist', 'worker', 'main.js'))).toBe(true);
    expect(fs.existsSync(path.join(releases, id, 'drizzle', 'meta', '_journal.json'))).toBe(true);
    expect(fs.readlinkSync(path.join(releases, 'current'))).toBe(id);
    // the build went to a temporary folder, not into the project's dist/, and was tidied away
    expect(fs.readdirSync(releases).filter((n) => n.startsWith('.'))).toEqual([]);
    const revision = withStore((s) => s.revision(id));
    expect(revision).toMatchObject({
      status: 'candidate',
      source: expect.stringMatching(/^a build of .* at [0-9a-f]+/),
    });
    // and no PM2 daemon was started to restart the worker
    expect(fs.existsSync(path.join(pm2Home, 'pm2.pid'))).toBe(false);
  });

  it('exits 1 with --json too when the worker was not restarted, the JSON saying why', async () => {
    const result = await cli(['--json', 'release', '--from', builtDist('a')]);
    expect(result.code).toBe(1);
    const json = JSON.parse(result.stdout) as { revision: { id: string }; restarted: boolean; why: string };
    expect(json).toMatchObject({ restarted: false, why: expect.stringMatching(/No PM2 daemon answers/) });
    expect(result.stderr).toMatch(new RegExp(`^error: ${json.revision.id} is released`));
    expect(fs.readlinkSync(path.join(dir, 'state', 'releases', 'current'))).toBe(json.revision.id);
  });

  it('refuses a folder that is not a built worker, exit 1, one sentence', async () => {
    fs.mkdirSync(path.join(dir, 'empty'));
    const result = await cli(['release', '--from', path.join(dir, 'empty')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*empty is not a built worker \(.*worker\/main\.js is missing\)/);
  });

  it('lists revisions with the current one marked, as a table and as JSON', async () => {
    const a = releasedId((await cli(['release', '--from', builtDist('a')])).stdout);
    const table = await cli(['revisions', 'ls']);
    expect(table.stdout).toMatch(new RegExp(`^\\*\\s+${a}\\s+candidate`, 'm'));
    expect(table.stdout).toMatch(/r1-[0-9a-f]{7}\s+good\s+.*at the first start/);
    const json = JSON.parse((await cli(['--json', 'revisions', 'ls'])).stdout) as {
      id: string;
      current: boolean;
    }[];
    expect(json.map((r) => [r.id, r.current])).toEqual([
      [a, true],
      [expect.stringMatching(/^r1-/), false],
    ]);
  });

  it('rolls back by hand to the newest good revision, or to the one named, and refuses the impossible', async () => {
    const a = releasedId((await cli(['release', '--from', builtDist('a')])).stdout);
    const first = withStore((s) => s.revisions().find((r) => r.status === 'good')?.id) as string;
    const back = await cli(['rollback']);
    expect(back.code).toBe(1); // no PM2 daemon: the rollback is recorded, the worker not restarted
    expect(back.stderr).toMatch(
      new RegExp(
        `^error: The rollback to ${first} is recorded and current points at it, but the worker was not restarted and still runs the code it ran before`,
      ),
    );
    expect(back.stdout).toMatch(new RegExp(`^Rolled back from ${a} to ${first} \\(${a} is marked bad\\)`));
    expect(withStore((s) => s.revision(a)?.status)).toBe('bad');
    const detail = withStore((s) => s.lastEvent(['rollback'])?.detail);
    expect(JSON.parse(detail ?? '')).toEqual({
      from: a,
      to: first,
      reason: 'rolled back by hand (autonous rollback)',
    });

    expect((await cli(['rollback', '--to', a])).stderr).toMatch(
      /is bad \(rolled back by hand.*pick another with --to/,
    );
    expect((await cli(['rollback', '--to', first.split('-')[0] as string])).stderr).toMatch(
      /is what runs already/,
    );
    expect((await cli(['rollback', '--to', 'r99'])).stderr).toMatch(/There is no revision r99 \(known: /);
    const none = await cli(['rollback']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/There is no good revision to roll back to/);
  });

  it('leaves a good revision good when rolling back from it by hand, so rollback --to can return to it', async () => {
    const a = releasedId((await cli(['release', '--from', builtDist('a')])).stdout);
    const first = withStore((s) => s.revisions().find((r) => r.status === 'good')?.id) as string;
    withStore((s) => s.promote(a, Date.now())); // a ran well: the supervisor promoted it
    const back = await cli(['rollback']);
    expect(back.stdout).toMatch(new RegExp(`^Rolled back from ${a} to ${first} \\(${a} stays good\\)`));
    expect(withStore((s) => s.revision(a))).toMatchObject({ status: 'good', badAt: null, reason: null });
    const detail = withStore((s) => s.lastEvent(['rollback'])?.detail);
    expect(JSON.parse(detail ?? '')).toEqual({
      from: a,
      to: first,
      reason: `rolled back by hand (autonous rollback); ${a} stays good`,
    });
    const again = await cli(['rollback', '--to', a]);
    expect(again.stderr).not.toMatch(/is bad/);
    expect(again.stdout).toMatch(new RegExp(`^Rolled back from ${first} to ${a} \\(${first} stays good\\)`));
    expect(fs.readlinkSync(path.join(dir, 'state', 'releases', 'current'))).toBe(a);
    expect(withStore((s) => s.revisions().map((r) => r.status))).toEqual(['good', 'good']);
  });

  it('keeps SUPERVISOR_KEEP_REVISIONS revisions plus current and the rollback target', async () => {
    for (const name of ['a', 'b', 'c', 'd']) await cli(['release', '--from', builtDist(name)]);
    const ids = withStore((s) => s.revisions().map((r) => r.id));
    expect(ids).toHaveLength(3); // the newest two, and the first (the only good one)
    expect(ids.some((id) => id.startsWith('r1-'))).toBe(true);
  });

  it('resumes only a halted worker, and shows the event log', async () => {
    const notHalted = await cli(['supervisor', 'resume']);
    expect(notHalted.stdout).toMatch(/not halted .*nothing to resume/);
    withStore((s) => s.updateState({ status: 'halted', reason: 'a test halt' }, Date.now()));
    const resumed = await cli(['supervisor', 'resume']);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(
      /^error: The halt is over in the records \(crashes are counted afresh\) and current points at .*, but the worker was not started and does not run \(No PM2 daemon answers/,
    );
    expect(withStore((s) => s.state())).toMatchObject({
      status: 'starting',
      reason: 'resumed by hand (autonous supervisor resume)',
    });
    const log = await cli(['supervisor', 'events']);
    expect(log.stdout).toMatch(/EVENT/);
    expect(log.stdout).toMatch(/resume/);
    const json = JSON.parse((await cli(['--json', 'supervisor', 'events', '--limit', '1'])).stdout) as {
      event: string;
    }[];
    expect(json.map((e) => e.event)).toEqual(['resume']);
  });
});
