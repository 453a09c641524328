import { storeBatch, type NewInboxItem } from '../../src/queue/enqueue';
import type { InboxRow } from '../../src/queue/row';
import { sqliteStore, type Store } from '../../src/queue/store';
import { EdgeError } from '../../src/worker/errors';
import { abortKindOf } from '../../src/agent/abort-reasons';
import { abortedOutcome, type Handler, type Outcome } from '../../src/worker/handlers/handler';
import { FatalWorkerError, Scheduler } from '../../src/worker/scheduler';
import { openTempDb, removeTempDir, type TempDb } from '../helpers/temp-db';
import { waitUntil as waitFor } from '../helpers/wait-until';
import { captureLog } from '../helpers/worker-harness';

// The scheduler with a real store on a temp database and handlers that are plain functions: no
// HTTP, no Telegram, no model.

let db: TempDb;
let store: Store;
const schedulers: Scheduler[] = [];

beforeEach(() => {
  db = openTempDb();
  store = sqliteStore(db.sqlite);
});
afterEach(async () => {
  for (const s of schedulers.splice(0)) await s.stop(0);
  db.close();
  removeTempDir(db.dir);
});

let nextUpdate = 1;
function push(chatId: number, text = `m${nextUpdate}`): number {
  const updateId = nextUpdate++;
  const item: NewInboxItem = {
    updateId,
    chatId,
    messageId: updateId,
    kind: 'text',
    text,
    sentAt: Date.now(),
    status: 'queued',
  };
  storeBatch(db.sqlite, [item], updateId + 1, Date.now());
  return updateId;
}

/** Waits for a condition of the database or the handlers, naming the inbox when it times out. */
function waitUntil(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  return waitFor(predicate, timeoutMs, () =>
    JSON.stringify(db.sqlite.prepare('SELECT update_id, status, attempts FROM inbox').all()),
  );
}

function row(updateId: number): Record<string, unknown> {
  return db.sqlite
    .prepare('SELECT status, attempts, error, available_at AS availableAt FROM inbox WHERE update_id = ?')
    .get(updateId) as Record<string, unknown>;
}

function start(handle: Handler['handle'], extra: { concurrency?: number; now?: () => number } = {}) {
  const settled: { item: InboxRow; outcome: Outcome }[] = [];
  const dead: InboxRow[] = [];
  const scheduler = new Scheduler({
    store,
    handlerFor: () => ({ handle }),
    policy: { maxAttempts: 3, baseSeconds: 0.01, maxSeconds: 0.01 },
    lanes: [{ lane: 'answer', concurrency: extra.concurrency ?? 1 }],
    log: captureLog(),
    now: extra.now ?? Date.now,
    random: () => 0.5,
    onSettled: (item, outcome) => settled.push({ item, outcome }),
    onDead: (item) => dead.push(item),
  });
  schedulers.push(scheduler);
  scheduler.start();
  return { scheduler, settled, dead };
}

describe('Scheduler', () => {
  it('settles a done outcome with the reply in history beside the message', async () => {
    const u = push(1, 'hello');
    const { settled } = start(async () => ({ kind: 'done', reply: 'hi there' }));
    await waitUntil(() => settled.length === 1);
    expect(row(u)).toMatchObject({ status: 'done', attempts: 1 });
    expect(db.sqlite.prepare('SELECT role, text FROM history ORDER BY id').all()).toEqual([
      { role: 'user', text: 'hello' },
      { role: 'assistant', text: 'hi there' },
    ]);
  });

  it('retries a failed attempt later and makes it dead when out of attempts', async () => {
    const u = push(1);
    const { settled, dead } = start(async () => ({
      kind: 'retry',
      error: new EdgeError('transient', 'openai', '500', 'OpenAI answered 500'),
    }));
    await waitUntil(() => dead.length === 1, 5000);
    expect(settled).toHaveLength(3);
    expect(row(u)).toMatchObject({ status: 'dead', attempts: 3, error: 'OpenAI answered 500' });
  });

  it('makes a permanent error dead at once, and a thrown bug a retried internal error', async () => {
    const a = push(1);
    const b = push(2, 'bug');
    let calls = 0;
    const { dead, settled } = start(async (item) => {
      if (item.text === 'bug' && calls++ === 0) throw new TypeError('x is undefined');
      if (item.text === 'bug') return { kind: 'done' };
      return { kind: 'retry', error: new EdgeError('permanent', 'telegram', '403', 'blocked') };
    });
    await waitUntil(() => row(b).status === 'done', 5000);
    expect(dead.map((i) => i.updateId)).toEqual([a]);
    expect(row(a)).toMatchObject({ status: 'dead', attempts: 1 });
    const bug = settled.find((s) => s.item.updateId === b && s.outcome.kind === 'retry')!.outcome;
    expect(bug).toMatchObject({
      kind: 'retry',
      error: { service: 'worker', code: 'internal', errorClass: 'transient' },
    });
    expect((bug as { error: Error }).error.message).toMatch(/x is undefined/);
  });

  it('parks an item without holding a loop or an attempt; its chat waits, other chats go on', async () => {
    const parked = push(1, 'needs a decision');
    const later = push(1, 'later in the same chat');
    const other = push(2, 'another chat');
    const seen: string[] = [];
    const { settled } = start(async (item) => {
      seen.push(item.text!);
      if (item.text === 'needs a decision' && seen.filter((t) => t === item.text).length === 1) {
        return { kind: 'parked', until: null, reason: 'waiting for approval' };
      }
      return { kind: 'done' };
    });
    // one loop only: chat 2 is answered while chat 1's first item is parked
    await waitUntil(() => row(other).status === 'done');
    expect(row(parked)).toMatchObject({ status: 'parked', attempts: 0, error: 'waiting for approval' });
    expect(row(later).status).toBe('queued');
    expect(seen).toEqual(['needs a decision', 'another chat']);

    // its event comes: it goes back to work, then the chat's next message
    expect(
      store.unpark(
        db.sqlite.prepare('SELECT id FROM inbox WHERE update_id = ?').pluck().get(parked) as number,
        Date.now(),
      ),
    ).toBe(true);
    schedulers[0]!.wake();
    await waitUntil(() => row(later).status === 'done');
    expect(row(parked)).toMatchObject({ status: 'done', attempts: 1 });
    expect(seen).toEqual(['needs a decision', 'another chat', 'needs a decision', 'later in the same chat']);
    expect(settled.map((s) => s.outcome.kind)).toEqual(['parked', 'done', 'done', 'done']);
  });

  it('takes a parked item back to work by itself when its time comes', async () => {
    let clock = Date.now() + 1000;
    const u = push(1);
    let calls = 0;
    const { scheduler } = start(
      async () =>
        calls++ === 0 ? { kind: 'parked', until: clock + 60_000, reason: 'timer' } : { kind: 'done' },
      { now: () => clock },
    );
    await waitUntil(() => row(u).status === 'parked');
    clock += 60_000;
    scheduler.wake();
    await waitUntil(() => row(u).status === 'done');
    expect(calls).toBe(2);
  });

  it('wakes at once for new work instead of waiting for its idle recheck', async () => {
    const { scheduler, settled } = start(async () => ({ kind: 'done' }));
    await new Promise((r) => setTimeout(r, 50));
    const startAt = Date.now();
    push(1);
    scheduler.wake();
    await waitUntil(() => settled.length === 1, 2000);
    expect(Date.now() - startAt).toBeLessThan(1000);
  });

  it('on stop, lets the item in flight finish within the grace', async () => {
    const u = push(1);
    let release!: () => void;
    const started = new Promise<void>((r) => (release = r));
    const { scheduler } = start(async () => {
      release();
      await new Promise((r) => setTimeout(r, 100));
      return { kind: 'done' };
    });
    await started;
    await scheduler.stop(5000);
    expect(row(u).status).toBe('done');
  });

  it('on stop past the grace, aborts the item in flight and puts it back without counting the attempt', async () => {
    const u = push(1);
    let started = false;
    const { scheduler } = start(
      (_item, signal) =>
        new Promise<Outcome>((_resolve, reject) => {
          started = true;
          signal.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    );
    await waitUntil(() => started);
    const t0 = Date.now();
    await scheduler.stop(100);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(row(u)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('puts an item its handler released back with its attempts unchanged', async () => {
    const u = push(1);
    let calls = 0;
    // the first call settles before `scheduler` is needed: the second comes after the retry's delay
    const { scheduler } = start(async () => {
      if (++calls === 1) {
        return { kind: 'retry', error: new EdgeError('transient', 'openai', '500', 'OpenAI answered 500') };
      }
      // the worker is stopping: nothing more is claimed, and this item goes back as it was
      void scheduler.stop(5000);
      return { kind: 'released' };
    });
    await waitUntil(() => calls === 2);
    await scheduler.stop(5000);
    expect(calls).toBe(2);
    expect(row(u)).toMatchObject({ status: 'queued', attempts: 1 });
  });

  it('aborts with the worker stopping on stop, and as stopped by the user on cancel', async () => {
    const stopped = push(1);
    const cancelled = push(2);
    const kinds = new Map<number, string | undefined>();
    const { scheduler, settled } = start(
      (item, signal) =>
        new Promise<Outcome>((resolve) => {
          kinds.set(item.updateId, undefined);
          signal.addEventListener('abort', () => {
            kinds.set(item.updateId, abortKindOf(signal));
            resolve(abortedOutcome(signal) ?? { kind: 'done' });
          });
        }),
      { concurrency: 2 },
    );
    await waitUntil(() => kinds.size === 2);
    expect(scheduler.cancel(2)).toBe(true);
    await waitUntil(() => row(cancelled).status === 'skipped');
    await scheduler.stop(50);
    expect(Object.fromEntries(kinds)).toEqual({
      [stopped]: 'worker-stopping',
      [cancelled]: 'stopped-by-user',
    });
    expect(row(cancelled)).toMatchObject({ status: 'skipped', error: 'stopped by the user' });
    expect(row(stopped)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(settled.map((s) => s.outcome.kind).sort()).toEqual(['released', 'skipped']);
  });

  it('stops on a fatal error and puts the item back', async () => {
    const u = push(1);
    const { scheduler } = start(async () => ({
      kind: 'retry',
      error: new EdgeError('fatal', 'telegram', '401', 'Telegram rejected the bot token'),
    }));
    await expect(scheduler.failed).rejects.toBeInstanceOf(FatalWorkerError);
    expect(row(u)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('runs items of different chats at once, never two of one chat', async () => {
    for (const chat of [1, 1, 2, 2, 3]) push(chat);
    let running = 0;
    let most = 0;
    const chatsInFlight = new Set<number>();
    const { settled } = start(
      async (item) => {
        expect(chatsInFlight.has(item.chatId!)).toBe(false);
        chatsInFlight.add(item.chatId!);
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 30));
        running--;
        chatsInFlight.delete(item.chatId!);
        return { kind: 'done' };
      },
      { concurrency: 4 },
    );
    await waitUntil(() => settled.length === 5);
    expect(most).toBe(3);
  });
});
