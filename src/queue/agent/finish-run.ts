import type Database from 'better-sqlite3';
import type { RunOutcome } from '../../agent/journal';
import { prepared } from '../statements';

/**
 * Ends a run that is still open (running or parked); an ended run keeps its outcome. The worker
 * also calls this when the run's message dies (out of attempts), with `failed` and the reason.
 * Returns whether the run was open.
 */
export function finishRun(
  sqlite: Database.Database,
  runId: number,
  outcome: RunOutcome,
  now: number,
): boolean {
  return (
    prepared(
      sqlite,
      `UPDATE agent_runs SET status = @status, answer = @answer, error = @error, finished_at = @now,
         suspended_at = NULL, parked_at = NULL
       WHERE id = @id AND status IN ('running', 'parked')`,
    ).run({
      id: runId,
      status: outcome.status,
      answer: outcome.answer ?? null,
      error: outcome.error ?? null,
      now,
    }).changes > 0
  );
}
