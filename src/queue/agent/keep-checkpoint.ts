import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/**
 * Keeps a git checkpoint (JSON) with the run of an inbox item, until its commit forgets it.
 * Returns false when the item has no run to keep it in.
 */
export function keepRunCheckpoint(sqlite: Database.Database, inboxId: number, checkpoint: string): boolean {
  return (
    prepared(sqlite, 'UPDATE agent_runs SET checkpoint = ? WHERE inbox_id = ?').run(checkpoint, inboxId)
      .changes > 0
  );
}
