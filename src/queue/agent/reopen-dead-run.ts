import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/**
 * Gives the run of a message that died another chance when the message itself gets one
 * (`autonous queue retry`): a run failed because its message died (failed without an answer,
 * which only `finishRun` on a dead message leaves) goes on where its journal stands, as a
 * suspended run does, with its stall count cleared. Returns whether there was such a run.
 */
export function reopenDeadRun(sqlite: Database.Database, inboxId: number, now: number): boolean {
  return (
    prepared(
      sqlite,
      `UPDATE agent_runs SET status = 'running', suspended_at = @now, finished_at = NULL, error = NULL,
         stalled_resumes = 0
       WHERE inbox_id = @inboxId AND status = 'failed' AND answer IS NULL`,
    ).run({ inboxId, now }).changes > 0
  );
}
