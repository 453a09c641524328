import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** Marks one approval expired if it is still pending (the loop found it past its time). */
export function expireApproval(sqlite: Database.Database, approvalId: number, now: number): void {
  prepared(
    sqlite,
    `UPDATE agent_approvals SET status = 'expired', decided_at = ? WHERE id = ? AND status = 'pending'`,
  ).run(now, approvalId);
}
