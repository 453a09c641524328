import { renderRequeued } from '../../src/cli/render/queue';
import { retryByStatus, retryItems } from '../../src/queue/admin/retry';
import { openTempDb, removeTempDir, type TempDb } from '../helpers/temp-db';

let db: TempDb;
beforeEach(() => {
  db = openTempDb();
  const insert = db.sqlite.prepare(
    `INSERT INTO inbox (update_id, chat_id, kind, text, status, available_at, received_at, error_class)
     VALUES (?, 1, 'text', 'x', 'dead', 0, 0, ?)`,
  );
  insert.run(1, 'crash');
  insert.run(2, 'transient');
});
afterEach(() => {
  db.close();
  removeTempDir(db.dir);
});

describe('retrying a message that killed the worker', () => {
  it('says so, since each new crash counts toward the supervisor crash loop', () => {
    const { requeued } = retryItems(db.sqlite, [1, 2], 5);
    expect(requeued.map((r) => [r.id, r.killedWorker])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(renderRequeued(requeued)).toMatch(/Warning: 1 killed the worker on every attempt before/);
  });

  it('marks them when retrying by status too', () => {
    const requeued = retryByStatus(db.sqlite, 'dead', 5);
    expect(requeued.map((r) => [r.id, r.killedWorker])).toEqual([
      [1, true],
      [2, false],
    ]);
  });

  it('prints no warning for ordinary dead letters', () => {
    expect(renderRequeued(retryItems(db.sqlite, [2], 5).requeued)).not.toMatch(/Warning/);
  });
});
