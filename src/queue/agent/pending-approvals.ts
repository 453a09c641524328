import type Database from 'better-sqlite3';
import { APPROVAL_COLUMNS, type ApprovalRecord } from './rows';

/** A pending approval with what it asks about, for `approvals ls`. */
export interface PendingApproval extends ApprovalRecord {
  /** The call's raw JSON arguments. */
  readonly arguments: string | null;
  readonly inboxId: number | null;
}

const A_COLUMNS = APPROVAL_COLUMNS.replace(/(^|,\s*)(\w+)/g, '$1a.$2');

/** The approvals still waiting for a decision, oldest first (expired ones included until swept). */
export function pendingApprovals(sqlite: Database.Database, limit: number): PendingApproval[] {
  return sqlite
    .prepare(
      `SELECT ${A_COLUMNS}, s.arguments AS arguments, r.inbox_id AS inboxId
       FROM agent_approvals a JOIN agent_steps s ON s.id = a.step_id JOIN agent_runs r ON r.id = a.run_id
       WHERE a.status = 'pending' ORDER BY a.id LIMIT ?`,
    )
    .all(limit) as PendingApproval[];
}
