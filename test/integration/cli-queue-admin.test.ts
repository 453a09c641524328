import { claimNext } from '../../src/queue/claim';
import { storeBatch, type NewInboxItem } from '../../src/queue/enqueue';
import { completeItem, failItem } from '../../src/queue/settle';
import { listDead } from '../../src/queue/admin/dead';
import { listItems } from '../../src/queue/admin/list';
import { purgeItems } from '../../src/queue/admin/purge';
import { retryByStatus, retryItems } from '../../src/queue/admin/retry';
import { queueStats } from '../../src/queue/admin/stats';
import { openTempDb, removeTempDir, type TempDb } from '../helpers/temp-db';

// The queue operations behind the CLI, on a real migrated SQLite file per test.

const T0 = 1_700_000_000_000;
let db: TempDb;

beforeEach(() => {
  db = openTempDb();
});
afterEach(() => {
  db.close();
  removeTempDir(db.dir);
});

const message = (updateId: number, chatId: number, text = `m${updateId}`): NewInboxItem => ({
  updateId,
  chatId,
  messageId: updateId,
  kind: 'text',
  text,
  sentAt: T0,
  status: 'queued',
});

function store(items: NewInboxItem[], at = T0): void {
  storeBatch(db.sqlite, items, Math.max(...items.map((i) => i.updateId)) + 1, at);
}

/** Claims the next item and answers it at `at`. */
function answerNext(at: number): number {
  const item = claimNext(db.sqlite, at)!;
  completeItem(db.sqlite, item, `reply ${item.updateId}`, at);
  return item.id;
}

/** Claims the next item and kills it (permanent error) at `at`. */
function killNext(at: number, error = 'OpenAI refused the request.'): number {
  const item = claimNext(db.sqlite, at)!;
  failItem(
    db.sqlite,
    item.id,
    { status: 'dead' },
    { errorClass: 'permanent', code: '400', message: error },
    at,
  );
  return item.id;
}

const row = (id: number) =>
  db.sqlite
    .prepare('SELECT status, attempts, available_at, error, finished_at, reply FROM inbox WHERE id = ?')
    .get(id) as {
    status: string;
    attempts: number;
    available_at: number;
    error: string | null;
    finished_at: number | null;
    reply: string | null;
  };

describe('listItems and listDead', () => {
  it('lists the newest first and filters by status and chat', () => {
    store([message(1, 10), message(2, 20), message(3, 10)]);
    expect(listItems(db.sqlite, { limit: 10 }).map((r) => r.updateId)).toEqual([3, 2, 1]);
    expect(listItems(db.sqlite, { chatId: 10, limit: 10 }).map((r) => r.updateId)).toEqual([3, 1]);
    expect(listItems(db.sqlite, { limit: 2 })).toHaveLength(2);
    killNext(T0 + 1);
    expect(listItems(db.sqlite, { status: 'dead', limit: 10 }).map((r) => r.updateId)).toEqual([1]);
    expect(listDead(db.sqlite, 10).map((r) => r.error)).toEqual(['OpenAI refused the request.']);
  });
});

describe('retryItems', () => {
  it('puts a dead item back: queued, due now, attempts reset, error cleared, reply kept', () => {
    store([message(1, 10)]);
    const item = claimNext(db.sqlite, T0)!;
    db.sqlite.prepare('UPDATE inbox SET reply = ? WHERE id = ?').run('stored answer', item.id);
    failItem(
      db.sqlite,
      item.id,
      { status: 'dead' },
      { errorClass: 'permanent', code: '403', message: 'blocked' },
      T0,
    );
    const result = retryItems(db.sqlite, [item.id], T0 + 5000);
    expect(result).toEqual({
      requeued: [{ id: item.id, updateId: 1, chatId: 10, previousStatus: 'dead', killedWorker: false }],
      refused: [],
    });
    expect(row(item.id)).toEqual({
      status: 'queued',
      attempts: 0,
      available_at: T0 + 5000,
      error: null,
      finished_at: null,
      reply: 'stored answer',
    });
    expect(claimNext(db.sqlite, T0 + 5000)?.id).toBe(item.id);
  });

  it('changes nothing when one id is unknown or done, and says why for each', () => {
    store([message(1, 10), message(2, 20)]);
    const done = answerNext(T0);
    const dead = killNext(T0);
    const result = retryItems(db.sqlite, [dead, done, 999], T0 + 1);
    expect(result.requeued).toEqual([]);
    expect(result.refused).toEqual([
      { id: done, reason: expect.stringContaining('is done') },
      { id: 999, reason: 'There is no inbox item with id 999.' },
    ]);
    expect(row(dead).status).toBe('dead');
  });

  it('keeps per-chat order: a retried old item is answered before newer waiting items of its chat', () => {
    store([message(1, 10), message(2, 10), message(3, 10)]);
    const first = killNext(T0);
    const second = answerNext(T0 + 1);
    expect(second).not.toBe(first);
    retryItems(db.sqlite, [first], T0 + 2);
    // update 3 of the same chat still waits; the retried update 1 comes first
    expect(claimNext(db.sqlite, T0 + 3)?.updateId).toBe(1);
    expect(claimNext(db.sqlite, T0 + 3)).toBeUndefined();
  });
});

describe('retryByStatus', () => {
  it('requeues every item in the status and nothing else', () => {
    store([message(1, 10), message(2, 20), message(3, 30)]);
    const a = killNext(T0);
    const b = killNext(T0);
    const c = answerNext(T0);
    expect(retryByStatus(db.sqlite, 'dead', T0 + 1).map((r) => r.id)).toEqual([a, b].sort((x, y) => x - y));
    expect(row(c).status).toBe('done');
    expect(retryByStatus(db.sqlite, 'dead', T0 + 2)).toEqual([]);
  });
});

describe('purgeItems', () => {
  const DAY = 86_400_000;

  function fill(): { oldDone: number; newDone: number; oldDead: number } {
    store([message(1, 10), message(2, 20), message(3, 30), message(4, 40)]);
    const oldDone = answerNext(T0);
    const oldDead = killNext(T0);
    const newDone = answerNext(T0 + 8 * DAY);
    return { oldDone, newDone, oldDead };
  }

  it('counts on a dry run and changes nothing', () => {
    fill();
    const before = db.sqlite.prepare('SELECT count(*) AS n FROM inbox').get();
    const result = purgeItems(db.sqlite, { status: 'done', finishedBefore: T0 + 7 * DAY, dryRun: true });
    expect(result).toMatchObject({ matched: 1, deleted: 0 });
    expect(db.sqlite.prepare('SELECT count(*) AS n FROM inbox').get()).toEqual(before);
  });

  it('deletes only matching rows, keeps their history text, and keeps foreign keys on', () => {
    const { oldDone, newDone, oldDead } = fill();
    const result = purgeItems(db.sqlite, { status: 'done', finishedBefore: T0 + 7 * DAY, dryRun: false });
    expect(result).toEqual({ matched: 1, deleted: 1, firstId: oldDone, lastId: oldDone });
    const ids = (db.sqlite.prepare('SELECT id FROM inbox ORDER BY id').all() as { id: number }[]).map(
      (r) => r.id,
    );
    expect(ids).toContain(newDone);
    expect(ids).toContain(oldDead);
    expect(ids).not.toContain(oldDone);
    const history = db.sqlite.prepare('SELECT text, inbox_id AS inboxId FROM history ORDER BY id').all();
    expect(history).toEqual([
      { text: 'm1', inboxId: null },
      { text: 'reply 1', inboxId: null },
      { text: 'm3', inboxId: newDone },
      { text: 'reply 3', inboxId: newDone },
    ]);
    expect(db.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
  });
});

describe('queueStats', () => {
  it('counts, latency receipt→reply, error rate and top errors of the window', () => {
    store([message(1, 10), message(2, 20), message(3, 30), message(4, 40), message(5, 50)], T0);
    answerNext(T0 + 1000);
    answerNext(T0 + 3000);
    answerNext(T0 + 9000);
    killNext(T0 + 10_000, 'boom');
    const stats = queueStats(db.sqlite, T0, T0 + 3_600_000);
    expect(stats.counts).toEqual({
      queued: 1,
      processing: 0,
      done: 3,
      failed: 0,
      dead: 1,
      skipped: 0,
      parked: 0,
    });
    expect(stats.oldestWaitingAt).toBe(T0);
    expect(stats.done).toBe(3);
    expect(stats.dead).toBe(1);
    expect(stats.throughputPerHour).toBe(3);
    expect(stats.latencyMs).toEqual({ count: 3, p50: 3000, p95: 9000, max: 9000 });
    expect(stats.errorRate).toBe(0.25);
    expect(stats.topErrors).toEqual([{ error: 'boom', errorClass: 'permanent', errorCode: '400', count: 1 }]);
    const later = queueStats(db.sqlite, T0 + 20_000, T0 + 3_600_000);
    expect(later.done).toBe(0);
    expect(later.topErrors).toEqual([]);
  });
});
