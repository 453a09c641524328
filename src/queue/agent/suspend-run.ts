import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/**
 * Leaves a running run unfinished on purpose (a model error the worker retries, a stopping worker):
 * the next start continues it without counting a resume.
 */
export function suspendRun(
  sqlite: Database.Database,
  runId: number,
  error: string | null,
  now: number,
): void {
  prepared(
    sqlite,
    `UPDATE agent_runs SET suspended_at = ?, error = coalesce(?, error) WHERE id = ? AND status = 'running'`,
  ).run(now, error, runId);
}
