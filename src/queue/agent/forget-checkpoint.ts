import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** Drops the git checkpoint of an inbox item's run: its changes were committed, or never will be. */
export function forgetRunCheckpoint(sqlite: Database.Database, inboxId: number): void {
  prepared(sqlite, 'UPDATE agent_runs SET checkpoint = NULL WHERE inbox_id = ?').run(inboxId);
}
