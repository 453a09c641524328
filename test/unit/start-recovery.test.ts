import path from 'node:path';
import { claimNext } from '../../src/queue/claim';
import { storeBatch } from '../../src/queue/enqueue';
import type { InboxRow } from '../../src/queue/row';
import { loadWorkerConfig } from '../../src/shared/config';
import { recoverAtStart } from '../../src/worker/start-recovery';
import { BASE_ENV } from '../helpers/config-env';
import { openTempDb, removeTempDir, type TempDb } from '../helpers/temp-db';
import { captureLog } from '../helpers/worker-harness';

// Five attempts for failures, but a message that killed the worker twice is dead: the crash loop
// detector restarts it only three times, so the crash attempt limit is 2.
const config = loadWorkerConfig({
  ...BASE_ENV,
  WORKER_MAX_ATTEMPTS: '5',
  SUPERVISOR_CRASH_LOOP_RESTARTS: '3',
});

let db: TempDb;
beforeEach(() => {
  db = openTempDb();
});
afterEach(() => {
  db.close();
  removeTempDir(db.dir);
});

function recover(now: number): { dead: InboxRow[]; log: ReturnType<typeof captureLog> } {
  const dead: InboxRow[] = [];
  const log = captureLog();
  recoverAtStart(config, {
    sqlite: db.sqlite,
    runsDir: path.join(db.dir, 'runs'),
    log,
    now: () => now,
    onDead: (item) => dead.push(item),
  });
  return { dead, log };
}

describe('recovery at start', () => {
  it('puts a message left processing back with the attempt counted', () => {
    storeBatch(
      db.sqlite,
      [{ updateId: 1, chatId: 101, messageId: 1, kind: 'text', text: 'hi', sentAt: 1000, status: 'queued' }],
      2,
      1000,
    );
    claimNext(db.sqlite, 1000);
    const { dead } = recover(2000);
    expect(dead).toEqual([]);
    expect(db.sqlite.prepare(`SELECT status, attempts FROM inbox`).all()).toEqual([
      { status: 'failed', attempts: 1 },
    ]);
  });

  it('declares dead a message the worker stopped under as often as the crash attempt limit', () => {
    storeBatch(
      db.sqlite,
      [{ updateId: 1, chatId: 101, messageId: 1, kind: 'text', text: 'hi', sentAt: 1000, status: 'queued' }],
      2,
      1000,
    );
    claimNext(db.sqlite, 1000);
    recover(2000);
    claimNext(db.sqlite, 2000);
    const { dead, log } = recover(3000);
    expect(dead.map((item) => [item.text, item.status])).toEqual([['hi', 'dead']]);
    expect(log.lines.some((line) => line.startsWith('error message is dead'))).toBe(true);
  });
});
