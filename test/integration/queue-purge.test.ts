import { purgeItems } from '../../src/queue/admin/purge';
import { openTempDb, removeTempDir, type TempDb } from '../helpers/temp-db';

let db: TempDb;
beforeEach(() => (db = openTempDb()));
afterEach(() => {
  db.close();
  removeTempDir(db.dir);
});

describe('purging in batches', () => {
  it('deletes every match across several short transactions and unlinks history', () => {
    const insert = db.sqlite.prepare(
      `INSERT INTO inbox (update_id, chat_id, kind, text, status, available_at, received_at, finished_at)
       VALUES (?, 1, 'text', 'x', ?, 0, 0, ?)`,
    );
    const turn = db.sqlite.prepare(
      `INSERT INTO history (chat_id, role, text, inbox_id, created_at) VALUES (1, 'user', 'x', ?, 0)`,
    );
    db.sqlite.transaction(() => {
      for (let i = 1; i <= 4500; i++) turn.run(insert.run(i, 'done', 10).lastInsertRowid);
      insert.run(4501, 'done', 1000); // finished after the cutoff
      insert.run(4502, 'dead', 10); // another status
    })();
    const result = purgeItems(db.sqlite, { status: 'done', finishedBefore: 100, dryRun: false });
    expect(result).toEqual({ matched: 4500, deleted: 4500, firstId: 1, lastId: 4500 });
    expect(db.sqlite.prepare('SELECT update_id FROM inbox ORDER BY id').all()).toEqual([
      { update_id: 4501 },
      { update_id: 4502 },
    ]);
    expect(db.sqlite.prepare('SELECT count(*) AS n FROM history WHERE inbox_id IS NULL').get()).toEqual({
      n: 4500,
    });
  });

  it("keeps a purged item's run, unlinked, with its status message and checkpoint", () => {
    db.sqlite.exec(`
      INSERT INTO inbox (id, update_id, chat_id, kind, text, status, available_at, received_at, finished_at)
        VALUES (7, 7, 1, 'text', 'x', 'dead', 0, 0, 10);
      INSERT INTO agent_runs (id, chat_id, inbox_id, project, status, status_message_id, checkpoint, started_at)
        VALUES (3, 1, 7, 'default', 'failed', 55, '{}', 0);
    `);
    expect(purgeItems(db.sqlite, { status: 'dead', finishedBefore: 100, dryRun: false }).deleted).toBe(1);
    expect(db.sqlite.prepare('SELECT inbox_id, status_message_id, checkpoint FROM agent_runs').all()).toEqual(
      [{ inbox_id: null, status_message_id: 55, checkpoint: '{}' }],
    );
  });
});
