import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** Parks a run for an approval: it holds nothing until the worker runs it again on a decision. */
export function parkRun(sqlite: Database.Database, runId: number, now: number): void {
  prepared(
    sqlite,
    `UPDATE agent_runs SET status = 'parked', parked_at = ?, suspended_at = NULL WHERE id = ? AND status = 'running'`,
  ).run(now, runId);
}
