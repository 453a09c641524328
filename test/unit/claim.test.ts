import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type DbHandle } from '../../src/db/open';
import { claimNext, nextAvailableAt } from '../../src/queue/claim';
import { storeBatch, type NewInboxItem } from '../../src/queue/enqueue';
import { getKv } from '../../src/queue/kv';
import { decideFailure, retryDelayMs } from '../../src/queue/policy';
import { failItem, recoverInterrupted } from '../../src/queue/settle';

let dir: string;
let handle: DbHandle;
const NOW = 1_700_000_000_000;

function msg(updateId: number, chatId: number): NewInboxItem {
  return {
    updateId,
    chatId,
    messageId: updateId,
    kind: 'text',
    text: `m${updateId}`,
    sentAt: NOW,
    status: 'queued',
  };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-claim-'));
  handle = openDatabase(path.join(dir, 'agent.db'));
});
afterEach(() => {
  handle.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('claiming', () => {
  it('claims the oldest ready item of a chat that is not busy', () => {
    storeBatch(handle.sqlite, [msg(1, 10), msg(2, 10), msg(3, 20)], 4, NOW);
    const first = claimNext(handle.sqlite, NOW)!;
    expect(first.updateId).toBe(1);
    // chat 10 is busy with update 1: the next claim skips its update 2 and takes chat 20
    expect(claimNext(handle.sqlite, NOW)!.updateId).toBe(3);
    expect(claimNext(handle.sqlite, NOW)).toBeUndefined();
  });

  it('counts the attempt at claim and marks the item processing', () => {
    storeBatch(handle.sqlite, [msg(1, 10)], 2, NOW);
    const item = claimNext(handle.sqlite, NOW + 5)!;
    expect(item).toMatchObject({ status: 'processing', attempts: 1, startedAt: NOW + 5 });
  });

  it('keeps later messages of a chat behind a failing one until it is done or dead', () => {
    storeBatch(handle.sqlite, [msg(1, 10), msg(2, 10)], 3, NOW);
    const first = claimNext(handle.sqlite, NOW)!;
    failItem(
      handle.sqlite,
      first.id,
      { status: 'failed', availableAt: NOW + 60_000 },
      { errorClass: 'transient', code: 'x', message: 'x' },
      NOW,
    );
    expect(claimNext(handle.sqlite, NOW + 1000)).toBeUndefined();
    expect(claimNext(handle.sqlite, NOW + 60_000)!.updateId).toBe(1);
  });

  it('lets a chat go on once its failing item is dead', () => {
    storeBatch(handle.sqlite, [msg(1, 10), msg(2, 10)], 3, NOW);
    const first = claimNext(handle.sqlite, NOW)!;
    failItem(
      handle.sqlite,
      first.id,
      { status: 'dead' },
      { errorClass: 'permanent', code: 'x', message: 'x' },
      NOW,
    );
    expect(claimNext(handle.sqlite, NOW)!.updateId).toBe(2);
  });

  it('puts a recovered item behind the messages other chats were already waiting with', () => {
    storeBatch(handle.sqlite, [msg(1, 10)], 2, NOW);
    claimNext(handle.sqlite, NOW);
    storeBatch(handle.sqlite, [msg(2, 20)], 3, NOW + 10);
    recoverInterrupted(handle.sqlite, { maxAttempts: 5, baseSeconds: 1, maxSeconds: 10 }, NOW + 20);
    expect(claimNext(handle.sqlite, NOW + 20)!.updateId).toBe(2);
    expect(claimNext(handle.sqlite, NOW + 20)!.updateId).toBe(1);
  });

  it('wakes for the next claimable item only, not for one waiting behind its chat', () => {
    storeBatch(handle.sqlite, [msg(1, 10), msg(2, 10)], 3, NOW);
    const first = claimNext(handle.sqlite, NOW)!;
    // update 2 waits behind update 1, which is in flight: nothing to wake up for
    expect(nextAvailableAt(handle.sqlite)).toBeUndefined();
    failItem(
      handle.sqlite,
      first.id,
      { status: 'failed', availableAt: NOW + 30_000 },
      { errorClass: 'transient', code: 'x', message: 'x' },
      NOW,
    );
    // the failed one is what the chat waits for: its retry time, not update 2's past time
    expect(nextAvailableAt(handle.sqlite)).toBe(NOW + 30_000);
  });

  it('never hands the same item to two connections', () => {
    storeBatch(
      handle.sqlite,
      Array.from({ length: 50 }, (_, i) => msg(i + 1, i + 1)),
      51,
      NOW,
    );
    const other = openDatabase(handle.path);
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const a = claimNext(i % 2 ? other.sqlite : handle.sqlite, NOW)!;
      expect(seen.has(a.id)).toBe(false);
      seen.add(a.id);
    }
    other.close();
    expect(seen.size).toBe(50);
  });
});

describe('ingress storage', () => {
  it('stores a batch and its offset together and ignores duplicates', () => {
    expect(storeBatch(handle.sqlite, [msg(1, 10), msg(2, 10)], 3, NOW)).toBe(2);
    expect(storeBatch(handle.sqlite, [msg(2, 10), msg(3, 10)], 4, NOW)).toBe(1);
    expect(getKv(handle.sqlite, 'telegram_offset')).toBe('4');
  });
});

describe('crash recovery', () => {
  it('puts interrupted items back with the attempt counted, and kills those out of attempts', () => {
    storeBatch(handle.sqlite, [msg(1, 10), msg(2, 20)], 3, NOW);
    const a = claimNext(handle.sqlite, NOW)!;
    claimNext(handle.sqlite, NOW);
    handle.sqlite.prepare('UPDATE inbox SET attempts = 3 WHERE id = ?').run(a.id);
    const died = recoverInterrupted(
      handle.sqlite,
      { maxAttempts: 3, baseSeconds: 1, maxSeconds: 10 },
      NOW + 1000,
    );
    expect(died.map((d) => d.updateId)).toEqual([1]);
    const rows = handle.sqlite
      .prepare('SELECT update_id, status, attempts FROM inbox ORDER BY update_id')
      .all();
    expect(rows).toEqual([
      { update_id: 1, status: 'dead', attempts: 3 },
      { update_id: 2, status: 'failed', attempts: 1 },
    ]);
    expect(handle.sqlite.prepare('SELECT available_at FROM inbox WHERE update_id = 2').get()).toEqual({
      available_at: NOW + 1000,
    });
  });
});

describe('retry policy', () => {
  const policy = { maxAttempts: 5, baseSeconds: 2, maxSeconds: 30 };
  it('grows the delay exponentially with jitter, capped', () => {
    expect(retryDelayMs(policy, 1, 0.5)).toBe(2000);
    expect(retryDelayMs(policy, 3, 0.5)).toBe(8000);
    expect(retryDelayMs(policy, 10, 1)).toBe(30_000);
    expect(retryDelayMs(policy, 1, 0)).toBe(1600);
  });
  it('honours the remote retry_after', () => {
    expect(retryDelayMs(policy, 1, 0.5, 7000)).toBe(7000);
  });
  it('is dead after the last attempt or on a permanent error', () => {
    expect(decideFailure(policy, 5, false, NOW, 0.5)).toEqual({ status: 'dead' });
    expect(decideFailure(policy, 1, true, NOW, 0.5)).toEqual({ status: 'dead' });
    expect(decideFailure(policy, 2, false, NOW, 0.5)).toEqual({ status: 'failed', availableAt: NOW + 4000 });
  });
});
