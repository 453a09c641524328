import { claimNext, nextAvailableAt } from '../../src/queue/claim';
import { storeBatch, type NewInboxItem } from '../../src/queue/enqueue';
import { completeItem, failItem, recoverInterrupted, releaseItem } from '../../src/queue/settle';
import { openTempDb, removeTempDir, type TempDb } from '../helpers/temp-db';

const NOW = 1_700_000_000_000;
const POLICY = { maxAttempts: 5, baseSeconds: 1, maxSeconds: 10 };
let db: TempDb;
let offset = 1;

function store(at: number, ...items: [updateId: number, chatId: number][]): void {
  const batch: NewInboxItem[] = items.map(([updateId, chatId]) => ({
    updateId,
    chatId,
    messageId: updateId,
    kind: 'text',
    text: `m${updateId}`,
    sentAt: at,
    status: 'queued',
  }));
  storeBatch(db.sqlite, batch, ++offset, at);
}

const claimed = (at: number): number | undefined => claimNext(db.sqlite, at)?.updateId;

beforeEach(() => {
  db = openTempDb();
});
afterEach(() => {
  db.close();
  removeTempDir(db.dir);
});

describe('an item recovered after a crash', () => {
  it('goes behind another chat message that arrived while the worker was down', () => {
    store(NOW, [1, 10]);
    expect(claimed(NOW)).toBe(1);
    // the worker dies (or hangs and is killed) with update 1 in flight; on restart recovery
    // runs first, then ingress stores what Telegram held meanwhile, with a later time
    recoverInterrupted(db.sqlite, POLICY, NOW + 5000);
    store(NOW + 5050, [2, 20]);
    expect(claimed(NOW + 5100)).toBe(2);
    expect(claimed(NOW + 5100)).toBe(1);
  });

  it('is claimed at once when nothing else waits', () => {
    store(NOW, [1, 10]);
    claimNext(db.sqlite, NOW);
    recoverInterrupted(db.sqlite, POLICY, NOW + 5000);
    expect(nextAvailableAt(db.sqlite)).toBe(NOW + 5000);
    expect(claimed(NOW + 5000)).toBe(1);
  });

  it('comes next once the other chats are answered, and its chat keeps its order', () => {
    store(NOW, [1, 10], [2, 10]);
    const first = claimNext(db.sqlite, NOW)!;
    recoverInterrupted(db.sqlite, POLICY, NOW + 5000);
    store(NOW + 5050, [3, 20]);
    const other = claimNext(db.sqlite, NOW + 5100)!;
    expect(other.updateId).toBe(3);
    completeItem(db.sqlite, other, 'r', NOW + 5200);
    // update 2 of chat 10 still waits for the recovered update 1
    expect(claimed(NOW + 5300)).toBe(first.updateId);
    expect(claimed(NOW + 5300)).toBeUndefined();
  });

  it('stays behind after a stop puts it back again', () => {
    store(NOW, [1, 10]);
    claimNext(db.sqlite, NOW);
    recoverInterrupted(db.sqlite, POLICY, NOW + 5000);
    const again = claimNext(db.sqlite, NOW + 5000)!;
    releaseItem(db.sqlite, again.id, NOW + 6000);
    store(NOW + 7000, [2, 20]);
    expect(claimed(NOW + 7000)).toBe(2);
  });
});

describe('a retried item', () => {
  it('keeps its retry time as its place: older retries go before fresh messages', () => {
    store(NOW, [1, 10]);
    const first = claimNext(db.sqlite, NOW)!;
    const retryAt = NOW + 1000;
    failItem(
      db.sqlite,
      first.id,
      { status: 'failed', availableAt: retryAt },
      { errorClass: 'transient', code: 'x', message: 'x' },
      NOW,
    );
    store(NOW + 2000, [2, 20]);
    expect(claimed(NOW + 3000)).toBe(1);
  });

  it('goes after fresh messages that were ready before its retry time', () => {
    store(NOW, [1, 10]);
    const first = claimNext(db.sqlite, NOW)!;
    failItem(
      db.sqlite,
      first.id,
      { status: 'failed', availableAt: NOW + 3000 },
      { errorClass: 'transient', code: 'x', message: 'x' },
      NOW,
    );
    store(NOW + 2000, [2, 20]);
    expect(claimed(NOW + 3000)).toBe(2);
    expect(claimed(NOW + 3000)).toBe(1);
  });
});
