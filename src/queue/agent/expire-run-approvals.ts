import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/**
 * Makes a run's pending approvals due now (its message was stopped): the expiry sweeper then
 * denies them and takes the buttons off their cards. Returns how many.
 */
export function expireRunApprovalsNow(sqlite: Database.Database, runId: number, now: number): number {
  return prepared(
    sqlite,
    `UPDATE agent_approvals SET expires_at = ? WHERE run_id = ? AND status = 'pending'`,
  ).run(now, runId).changes;
}
