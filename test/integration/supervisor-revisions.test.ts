import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type DbHandle } from '../../src/db/open';
import {
  pointCurrentAt,
  readCurrent,
  revisionAvailable,
  snapshot,
} from '../../src/supervisor-hooks/releases';
import {
  ensureInitialRevision,
  haltWorker,
  pruneRevisions,
  releaseRevision,
  resumeWorker,
  type RevisionContext,
  rollbackRevision,
  rollbackTargetFor,
} from '../../src/supervisor-hooks/revisions';
import { SupervisorStore } from '../../src/supervisor-hooks/store';

let root: string;
let handle: DbHandle;
let ctx: RevisionContext;
let home: string;

function build(name: string, main = `// ${name}\n`): { distDir: string; drizzleDir: string } {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, 'dist', 'worker'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'dist', 'worker', 'main.js'), main);
  fs.mkdirSync(path.join(dir, 'drizzle', 'meta'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'drizzle', 'meta', '_journal.json'), '{"entries":[]}');
  return { distDir: path.join(dir, 'dist'), drizzleDir: path.join(dir, 'drizzle') };
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-test-'));
  build('home');
  home = path.join(root, 'home');
  handle = openDatabase(path.join(root, 'state', 'agent.db'));
  const releasesDir = path.join(root, 'state', 'releases');
  fs.mkdirSync(releasesDir, { recursive: true });
  pointCurrentAt(releasesDir, home);
  ctx = { store: new SupervisorStore(handle), releasesDir, home, keep: 3 };
});
afterEach(() => {
  handle.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('revisions', () => {
  it('records the first revision once, from what current points at', () => {
    const first = ensureInitialRevision(ctx, 1000);
    expect(first).toMatchObject({ status: 'good', promotedAt: 1000, source: expect.stringContaining(home) });
    expect(readCurrent(ctx.releasesDir)?.revision).toBe(first?.id);
    expect(ensureInitialRevision(ctx, 2000)).toBeNull();
    expect(ctx.store.revisions()).toHaveLength(1);
    expect(ctx.store.lastEvent(['initial_revision'])?.revision).toBe(first?.id);
  });

  it('adopts a revision folder that current already points at (the database was replaced)', () => {
    const made = snapshot(ctx.releasesDir, build('old'), 4);
    pointCurrentAt(ctx.releasesDir, made.id);
    expect(ensureInitialRevision(ctx, 1000)).toMatchObject({ id: made.id, status: 'good' });
    expect(fs.readdirSync(ctx.releasesDir).filter((n) => n.startsWith('r'))).toEqual([made.id]);
  });

  it('releases a candidate: recorded with where it came from, current re-pointed, the state starting', () => {
    ensureInitialRevision(ctx, 1000);
    const first = ctx.store.revisions()[0]?.id;
    const { revision, previous } = releaseRevision(ctx, build('b'), '/tmp/b/dist', 2000);
    expect(previous).toBe(first);
    expect(revision).toMatchObject({
      status: 'candidate',
      source: '/tmp/b/dist',
      createdAt: 2000,
      id: expect.stringMatching(/^r2-/),
    });
    expect(readCurrent(ctx.releasesDir)?.revision).toBe(revision.id);
    expect(JSON.parse(ctx.store.lastEvent(['release'])?.detail ?? '{}')).toMatchObject({
      from: first,
      to: revision.id,
    });
    expect(ctx.store.state()).toMatchObject({ status: 'starting', reason: `released ${revision.id}` });
  });

  it('rolls back to the revision that ran before the release, and records the notice contract', () => {
    ensureInitialRevision(ctx, 1000);
    const a = releaseRevision(ctx, build('a'), 'a', 2000).revision.id;
    ctx.store.promote(a, 2500);
    const b = releaseRevision(ctx, build('b'), 'b', 3000).revision.id;
    const c = releaseRevision(ctx, build('c'), 'c', 4000).revision.id; // released over a candidate
    expect(rollbackTargetFor(ctx, c)).toBe(a); // b is no good, so the newest good
    expect(rollbackTargetFor(ctx, b)).toBe(a);
    rollbackRevision(ctx, { from: c, to: a, reason: 'crashed 5 times', markBad: true }, 5000);
    expect(ctx.store.revision(c)).toMatchObject({ status: 'bad', reason: 'crashed 5 times', badAt: 5000 });
    expect(readCurrent(ctx.releasesDir)?.revision).toBe(a);
    const event = ctx.store.lastEvent(['rollback']);
    expect(event).toMatchObject({ app: 'autonous-worker', event: 'rollback', revision: a });
    expect(JSON.parse(event?.detail ?? '')).toEqual({ from: c, to: a, reason: 'crashed 5 times' });
    expect(ctx.store.state()).toMatchObject({ status: 'rolled_back', restartsInWindow: 0 });
  });

  it('refuses to roll back to a revision whose folder is gone', () => {
    expect(() =>
      rollbackRevision(ctx, { from: null, to: 'r9-0000000', reason: 'x', markBad: false }, 1),
    ).toThrow(/has no runnable folder/);
  });

  it('keeps the newest N revisions plus current and the rollback target', () => {
    ensureInitialRevision(ctx, 1000);
    const first = ctx.store.revisions()[0]?.id as string;
    const ids = [2, 3, 4, 5].map((n) => releaseRevision(ctx, build(`v${n}`), `v${n}`, n * 1000).revision.id);
    // keep 3: the newest three, and the first (the only good one: where a rollback would go)
    expect(
      ctx.store
        .revisions()
        .map((r) => r.id)
        .sort(),
    ).toEqual([first, ...ids.slice(1)].sort());
    expect(revisionAvailable(ctx.releasesDir, ids[0] as string)).toBe(false);
    expect(pruneRevisions(ctx)).toEqual([]);
  });

  it('halts and resumes in the records', () => {
    ensureInitialRevision(ctx, 1000);
    const id = releaseRevision(ctx, build('b'), 'b', 2000).revision.id;
    haltWorker(ctx, { revision: id, reason: 'no good revision', markBad: true }, 3000);
    expect(ctx.store.state()).toMatchObject({ status: 'halted', reason: 'no good revision', since: 3000 });
    expect(ctx.store.revision(id)?.status).toBe('bad');
    resumeWorker(ctx, 'by hand', 4000);
    expect(ctx.store.state()).toMatchObject({ status: 'starting', reason: 'resumed by hand', since: 4000 });
    expect(ctx.store.lastEvent(['resume'])).toMatchObject({ at: 4000, revision: id });
  });
});
