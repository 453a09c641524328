import type Database from 'better-sqlite3';
import { INBOX_COLUMNS, type InboxRow } from '../row';

/** Dead letters, the most recently dead first. */
export function listDead(sqlite: Database.Database, limit: number): InboxRow[] {
  return sqlite
    .prepare(
      `SELECT ${INBOX_COLUMNS} FROM inbox WHERE status = 'dead'
       ORDER BY coalesce(finished_at, received_at) DESC, id DESC LIMIT ?`,
    )
    .all(limit) as InboxRow[];
}
