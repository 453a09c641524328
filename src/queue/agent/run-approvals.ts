import type Database from 'better-sqlite3';
import { prepared } from '../statements';
import { APPROVAL_COLUMNS, type ApprovalRecord } from './rows';

/** The approvals of a run, oldest first. */
export function runApprovals(sqlite: Database.Database, runId: number): ApprovalRecord[] {
  return prepared(sqlite, `SELECT ${APPROVAL_COLUMNS} FROM agent_approvals WHERE run_id = ? ORDER BY id`).all(
    runId,
  ) as ApprovalRecord[];
}
