import { claimNext } from '../../src/queue/claim';
import { storeBatch } from '../../src/queue/enqueue';
import { getKv, KV } from '../../src/queue/kv';
import type { InboxRow } from '../../src/queue/row';
import { clearSelftests, enqueueSelftest, revisionStatus } from '../../src/queue/selftest';
import { HEARTBEAT_ROW, parseReadiness, SELFTEST_KIND } from '../../src/shared/contracts';
import type { Logger } from '../../src/shared/log';
import type { Handler } from '../../src/worker/handlers/handler';
import { routerFor } from '../../src/worker/handlers/router';
import {
  needsSelftest,
  notReady,
  reach,
  readyAt,
  revisionOfFolder,
  selftestUpdateId,
  startReadiness,
} from '../../src/worker/readiness';
import { routeItem } from '../../src/worker/route';
import { openTempDb, removeTempDir, type TempDb } from '../helpers/temp-db';

const NOW = 1_700_000_000_000;
const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

describe('readiness, part by part', () => {
  it('starts with nothing reached and no ready time', () => {
    const fresh = notReady(42, NOW);
    expect(fresh).toEqual({ pid: 42, startedAt: NOW, database: null, poll: null, selftest: null });
    expect(readyAt(fresh)).toBeNull();
  });

  it('keeps the time a part was first reached', () => {
    const once = reach(notReady(42, NOW), 'poll', NOW + 5);
    expect(reach(once, 'poll', NOW + 9)).toBe(once);
    expect(once.poll).toBe(NOW + 5);
  });

  it('is ready when the last of the three parts is reached, at that time', () => {
    let r = reach(notReady(42, NOW), 'database', NOW + 1);
    r = reach(r, 'selftest', NOW + 30);
    expect(readyAt(r)).toBeNull();
    r = reach(r, 'poll', NOW + 20);
    expect(readyAt(r)).toBe(NOW + 30);
  });
});

describe('whether a start needs a self-test item', () => {
  it('reads the revision from the real folder of the running code, two levels above dist/worker', () => {
    expect(revisionOfFolder('/srv/autonous/releases/r12-abcdef0/dist/worker')).toBe('r12-abcdef0');
    expect(revisionOfFolder('/srv/autonous/releases/r12-abcdef0/dist/worker/')).toBe('r12-abcdef0');
  });

  it('finds no revision in a checkout or a folder not named like one', () => {
    expect(revisionOfFolder('/home/me/autonous/dist/worker')).toBeNull();
    expect(revisionOfFolder('/srv/releases/r12-ABCDEF0/dist/worker')).toBeNull();
    expect(revisionOfFolder('/srv/releases/r12-abcdef0/dist')).toBeNull();
  });

  it('needs one for a candidate only', () => {
    expect(needsSelftest('candidate')).toBe(true);
    expect(needsSelftest('good')).toBe(false);
    expect(needsSelftest('bad')).toBe(false);
    expect(needsSelftest(null)).toBe(false);
  });
});

describe('the self-test update id', () => {
  it('is a negative safe integer, never a Telegram id, even at the edges of its inputs', () => {
    for (const [now, random] of [
      [0, 0],
      [NOW, 0],
      [NOW, 0.9999999],
      [Date.UTC(2200, 0, 1), 0.9999999],
    ] as const) {
      const id = selftestUpdateId(now, random);
      expect(Number.isSafeInteger(id)).toBe(true);
      expect(id).toBeLessThan(0);
    }
  });

  it('differs between two starts in the same millisecond and between milliseconds', () => {
    expect(selftestUpdateId(NOW, 0.1)).not.toBe(selftestUpdateId(NOW, 0.2));
    expect(selftestUpdateId(NOW, 0.999)).not.toBe(selftestUpdateId(NOW + 1, 0));
  });
});

/** An inbox row as the claim returns it, with what a test sets. */
function row(fields: Partial<InboxRow>): InboxRow {
  return {
    id: 1,
    updateId: 1,
    chatId: null,
    messageId: null,
    kind: 'text',
    text: null,
    lane: 'control',
    fromId: null,
    callbackId: null,
    sentAt: null,
    status: 'processing',
    attempts: 1,
    availableAt: NOW,
    error: null,
    errorClass: null,
    errorCode: null,
    media: null,
    mediaGroupId: null,
    threadId: null,
    reply: null,
    replyPartsSent: 0,
    receivedAt: NOW,
    startedAt: NOW,
    finishedAt: null,
    ...fields,
  };
}

describe('routing the self-test item', () => {
  const nobody = (): boolean => false;

  it('routes it to the self-test before any chat is asked about, as it has none', () => {
    expect(routeItem(row({ kind: SELFTEST_KIND, updateId: -5 }), nobody)).toEqual({ kind: 'selftest' });
  });

  it('refuses an update from Telegram that is merely named so (its id is positive)', () => {
    expect(routeItem(row({ kind: SELFTEST_KIND, updateId: 5 }), nobody)).toEqual({ kind: 'refuse' });
  });

  it('hands it to a handler that settles it done without touching any other handler', async () => {
    const untouchable: Handler = {
      handle: () => Promise.reject(new Error('a self-test must not reach this handler')),
    };
    const handlers = {
      chat: untouchable,
      command: untouchable,
      callback: untouchable,
      refuse: untouchable,
      migrate: untouchable,
      notice: () => untouchable,
    };
    const item = row({ kind: SELFTEST_KIND, updateId: -5 });
    const handler = routerFor(handlers, nobody)(item);
    await expect(handler.handle(item, new AbortController().signal)).resolves.toEqual({ kind: 'done' });
  });
});

describe('the self-test rows and the worker row (real database)', () => {
  let db: TempDb;
  beforeEach(() => (db = openTempDb()));
  afterEach(() => {
    db.close();
    removeTempDir(db.dir);
  });

  const readinessRow = (): { readiness: string | null; ready_at: number | null } =>
    db.sqlite
      .prepare('SELECT readiness, ready_at FROM supervisor_state WHERE name = ?')
      .get(HEARTBEAT_ROW) as { readiness: string | null; ready_at: number | null };

  const addRevision = (id: string, status: string): void => {
    db.sqlite
      .prepare(`INSERT INTO supervisor_revisions (id, path, status, created_at) VALUES (?, '/srv/x', ?, ?)`)
      .run(id, status, NOW);
  };

  it('queues a claimable control item with no chat and leaves the Telegram offset alone', () => {
    storeBatch(db.sqlite, [], 17, NOW);
    const id = enqueueSelftest(db.sqlite, selftestUpdateId(NOW, 0.5), NOW);
    const claimed = claimNext(db.sqlite, NOW, 'control');
    expect(claimed).toMatchObject({ id, kind: SELFTEST_KIND, chatId: null, text: null, lane: 'control' });
    expect(getKv(db.sqlite, KV.telegramOffset)).toBe('17');
  });

  it('refuses an update id that could be a Telegram one', () => {
    expect(() => enqueueSelftest(db.sqlite, 5, NOW)).toThrow(/negative/);
    expect(() => enqueueSelftest(db.sqlite, 0, NOW)).toThrow(/negative/);
  });

  it("clears earlier self-test rows, whatever their status, and keeps Telegram's own updates", () => {
    enqueueSelftest(db.sqlite, -1, NOW);
    enqueueSelftest(db.sqlite, -2, NOW);
    db.sqlite.prepare(`UPDATE inbox SET status = 'done' WHERE update_id = -1`).run();
    storeBatch(
      db.sqlite,
      [
        {
          updateId: 9,
          chatId: null,
          messageId: null,
          kind: SELFTEST_KIND,
          text: null,
          sentAt: null,
          status: 'skipped',
        },
      ],
      10,
      NOW,
    );
    expect(clearSelftests(db.sqlite)).toBe(2);
    expect(db.sqlite.prepare('SELECT update_id AS u FROM inbox').all()).toEqual([{ u: 9 }]);
  });

  it('reads a revision status, null for one it does not know', () => {
    addRevision('r3-abcdef0', 'candidate');
    expect(revisionStatus(db.sqlite, 'r3-abcdef0')).toBe('candidate');
    expect(revisionStatus(db.sqlite, 'r4-abcdef0')).toBeNull();
  });

  it('writes a judged revision ready once it polled, the self-test reached without an item', async () => {
    let clock = NOW;
    const report = startReadiness({ sqlite: db.sqlite, log: silent, now: () => clock, revision: null });
    const atStart = parseReadiness(readinessRow().readiness)!;
    expect(atStart).toMatchObject({ pid: process.pid, database: NOW, poll: null, selftest: NOW });
    expect(readinessRow().ready_at).toBeNull();

    clock = NOW + 50;
    await report.follow({ ready: Promise.resolve(), polled: Promise.resolve() });
    expect(parseReadiness(readinessRow().readiness)).toMatchObject({ poll: NOW + 50 });
    expect(readinessRow().ready_at).toBe(NOW + 50);
    expect(db.sqlite.prepare('SELECT count(*) AS n FROM inbox').get()).toEqual({ n: 0 });
  });

  it('makes a candidate wait for its own self-test item settled done', async () => {
    addRevision('r3-abcdef0', 'candidate');
    enqueueSelftest(db.sqlite, -1, NOW - 1000);
    let clock = NOW;
    const report = startReadiness({
      sqlite: db.sqlite,
      log: silent,
      now: () => clock,
      revision: 'r3-abcdef0',
    });
    expect(db.sqlite.prepare('SELECT count(*) AS n FROM inbox').get()).toEqual({ n: 0 });
    await report.follow({ ready: Promise.resolve(), polled: Promise.resolve() });
    expect(parseReadiness(readinessRow().readiness)).toMatchObject({
      database: NOW,
      poll: NOW,
      selftest: null,
    });

    const item = claimNext(db.sqlite, NOW, 'control')!;
    expect(item.kind).toBe(SELFTEST_KIND);
    report.settled(item, { kind: 'skipped', reason: 'not done' });
    report.settled({ ...item, id: item.id + 1 }, { kind: 'done' });
    expect(readinessRow().ready_at).toBeNull();
    clock = NOW + 7;
    report.settled(item, { kind: 'done' });
    expect(parseReadiness(readinessRow().readiness)).toMatchObject({ selftest: NOW + 7 });
    expect(readinessRow().ready_at).toBe(NOW + 7);
  });

  it('starts each process from nothing, whatever the last one reached', async () => {
    const first = startReadiness({ sqlite: db.sqlite, log: silent, now: () => NOW, revision: null });
    await first.follow({ ready: Promise.resolve(), polled: Promise.resolve() });
    expect(readinessRow().ready_at).toBe(NOW);

    startReadiness({ sqlite: db.sqlite, log: silent, now: () => NOW + 100, revision: null });
    expect(parseReadiness(readinessRow().readiness)).toMatchObject({ database: NOW + 100, poll: null });
    expect(readinessRow().ready_at).toBeNull();
  });

  it('writes readiness beside the heartbeat without touching it', () => {
    db.sqlite
      .prepare('INSERT INTO supervisor_state (name, heartbeat_at, updated_at) VALUES (?, ?, ?)')
      .run(HEARTBEAT_ROW, NOW - 5, NOW - 5);
    startReadiness({ sqlite: db.sqlite, log: silent, now: () => NOW, revision: null });
    expect(
      db.sqlite.prepare('SELECT heartbeat_at AS h FROM supervisor_state WHERE name = ?').get(HEARTBEAT_ROW),
    ).toEqual({ h: NOW - 5 });
  });
});
