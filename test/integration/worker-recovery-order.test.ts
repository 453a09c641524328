import { openDatabase } from '../../src/db/open';
import { claimNext } from '../../src/queue/claim';
import { storeBatch } from '../../src/queue/enqueue';
import { getKv, KV } from '../../src/queue/kv';
import { useWorkerHarness } from '../helpers/worker-harness';

// The real worker against the fakes: a message left in flight by a worker that died goes behind
// what another chat sent while the worker was down, through the real start-up order (recovery,
// then ingress's first poll, then the first claim).

const h = useWorkerHarness();

describe('a message recovered after a crash', () => {
  // Ingress resolves `ready` after its first (short) poll on every start, so what Telegram held
  // is stored before the first claim, and the claim orders the recovered item after it.
  it('is answered after another chat message that arrived while the worker was down', async () => {
    const first = await h.start({ WORKER_CONCURRENCY: '1' });
    h.telegram.pushMessage(101, 'hello');
    await h.telegram.waitForSent(1);
    await first.stop(1000);

    // What a worker killed mid-message leaves behind: its item claimed and still `processing`
    const db = openDatabase(h.dbPath);
    const offset = Number(getKv(db.sqlite, KV.telegramOffset));
    const now = Date.now();
    const message = { updateId: 1, chatId: 101, messageId: 1, kind: 'text', text: 'interrupted' } as const;
    storeBatch(db.sqlite, [{ ...message, sentAt: now, status: 'queued' }], offset, now);
    expect(claimNext(db.sqlite, now)?.text).toBe('interrupted');
    db.close();
    // and a message of another chat that Telegram held meanwhile
    h.telegram.pushMessage(102, 'sent while the worker was down');

    await h.start({ WORKER_CONCURRENCY: '1' });
    await h.telegram.waitForSent(3);
    expect(h.telegram.sent.slice(1).map((m) => [m.chatId, m.text])).toEqual([
      [102, 'echo: sent while the worker was down'],
      [101, 'echo: interrupted'],
    ]);
    await h.settled();
    expect(h.rows(`SELECT attempts FROM inbox WHERE text = 'interrupted'`)).toEqual([{ attempts: 2 }]);
  });
});
