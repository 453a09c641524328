import type Database from 'better-sqlite3';
import type { ApprovalRecord } from '../../agent/journal';
import { APPROVAL_COLUMNS } from './rows';
import { prepared } from '../statements';

/** An approval that just expired, with its run's message to wake (the run then sees a denial). */
export interface ExpiredApproval {
  readonly approval: ApprovalRecord;
  readonly inboxId: number | null;
}

/**
 * Marks every pending approval past its `expires_at` expired, and returns them: the worker edits
 * their cards ("expired") and wakes their parked runs, which give the model a denial.
 */
export function expireDueApprovals(sqlite: Database.Database, now: number): ExpiredApproval[] {
  return sqlite
    .transaction(() => {
      const due = prepared(
        sqlite,
        `SELECT a.id FROM agent_approvals a WHERE a.status = 'pending' AND a.expires_at <= ? ORDER BY a.id`,
      ).all(now) as { id: number }[];
      const expire = prepared(
        sqlite,
        `UPDATE agent_approvals SET status = 'expired', decided_at = ? WHERE id = ? RETURNING ${APPROVAL_COLUMNS}`,
      );
      const inbox = prepared(sqlite, 'SELECT inbox_id AS inboxId FROM agent_runs WHERE id = ?');
      return due.map(({ id }) => {
        const approval = expire.get(now, id) as ApprovalRecord;
        const { inboxId } = inbox.get(approval.runId) as { inboxId: number | null };
        return { approval, inboxId };
      });
    })
    .immediate();
}
