import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate, MIGRATIONS_FOLDER, openDatabase } from '../../src/db/open';

// The migration that moved a run's status message id and git checkpoint from kv rows into the
// run's own columns.
const MOVE = '0003_run_state_columns';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-run-state-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A copy of the shipped migrations up to the one before `tag`. */
function migrationsBefore(tag: string): string {
  const folder = path.join(dir, 'drizzle');
  fs.mkdirSync(path.join(folder, 'meta'), { recursive: true });
  const journal = JSON.parse(
    fs.readFileSync(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8'),
  ) as {
    entries: { tag: string }[];
  };
  const end = journal.entries.findIndex((e) => e.tag === tag);
  expect(end).toBeGreaterThan(0);
  const entries = journal.entries.slice(0, end);
  for (const entry of entries) {
    fs.copyFileSync(path.join(MIGRATIONS_FOLDER, `${entry.tag}.sql`), path.join(folder, `${entry.tag}.sql`));
  }
  fs.writeFileSync(path.join(folder, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries }));
  return folder;
}

const CHECKPOINT = JSON.stringify({ head: 'a'.repeat(40), headTree: 'b'.repeat(40), tree: 'c'.repeat(40) });
const DEAD_CHECKPOINT = JSON.stringify({ head: null, headTree: 'd'.repeat(40), tree: 'e'.repeat(40) });

describe('moving run state out of kv', () => {
  it("puts each run's status message and checkpoint in its columns and leaves no run kv row", () => {
    const file = path.join(dir, 'agent.db');
    const old = new Database(file);
    migrate(old, migrationsBefore(MOVE));
    old.exec(`
      INSERT INTO inbox (id, update_id, chat_id, kind, text, status, available_at, received_at)
        VALUES (10, 100, 1, 'text', 'fix it', 'done', 0, 0), (11, 101, 1, 'text', 'break it', 'dead', 0, 0);
      INSERT INTO agent_runs (id, chat_id, inbox_id, project, status, started_at) VALUES
        (1, 1, 10, 'default', 'done', 0),
        (2, 1, 11, 'default', 'failed', 0),
        (3, 1, NULL, 'default', 'done', 0);
      INSERT INTO kv (key, value, updated_at) VALUES
        ('telegram_offset', '42', 0),
        ('chat_model:1', 'gpt', 0),
        ('run_status_message:1', '555', 0),
        ('run_checkpoint:10', '${CHECKPOINT}', 0),
        ('run_checkpoint:11', '${DEAD_CHECKPOINT}', 0),
        ('run_status_message:3', '777', 0),
        ('run_status_message:99', '888', 0),
        ('run_checkpoint:12', '${CHECKPOINT}', 0);
    `);
    old.close();

    const handle = openDatabase(file);
    try {
      expect(
        handle.sqlite
          .prepare('SELECT id, status_message_id AS statusMessageId, checkpoint FROM agent_runs ORDER BY id')
          .all(),
      ).toEqual([
        { id: 1, statusMessageId: 555, checkpoint: CHECKPOINT },
        // a dead run keeps its checkpoint: retried, it commits against the state before it began
        { id: 2, statusMessageId: null, checkpoint: DEAD_CHECKPOINT },
        // a run whose item was purged keeps its status message, and its checkpoint row is an orphan
        { id: 3, statusMessageId: 777, checkpoint: null },
      ]);
      // rows of runs and items that are gone went too; the process's own rows stay
      expect(handle.sqlite.prepare('SELECT key, value FROM kv ORDER BY key').all()).toEqual([
        { key: 'chat_model:1', value: 'gpt' },
        { key: 'telegram_offset', value: '42' },
      ]);
      expect(
        handle.sqlite.prepare(`SELECT count(*) AS n FROM kv WHERE key LIKE 'run\\_%' ESCAPE '\\'`).get(),
      ).toEqual({
        n: 0,
      });
    } finally {
      handle.close();
    }
  });

  it('migrates a database without run kv rows and leaves the columns empty', () => {
    const file = path.join(dir, 'agent.db');
    const old = new Database(file);
    migrate(old, migrationsBefore(MOVE));
    old.exec(
      `INSERT INTO agent_runs (id, chat_id, project, status, started_at) VALUES (1, 1, 'default', 'done', 0)`,
    );
    old.close();

    const handle = openDatabase(file);
    try {
      expect(
        handle.sqlite.prepare('SELECT status_message_id AS s, checkpoint AS c FROM agent_runs').all(),
      ).toEqual([{ s: null, c: null }]);
    } finally {
      handle.close();
    }
  });
});
