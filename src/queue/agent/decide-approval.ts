import type Database from 'better-sqlite3';
import { decisionFields, type ApprovalDecision } from '../../agent/approval-policy';
import type { ApprovalRecord } from '../../agent/journal';
import { APPROVAL_COLUMNS } from './rows';
import { prepared } from '../statements';

/** A decision as a press (or `/approve ID`, `/deny ID`) brings it; the approver check is done. */
export interface DecisionRequest {
  readonly approvalId: number;
  readonly decision: ApprovalDecision;
  /** The approver's Telegram user id. */
  readonly decidedBy: number;
  readonly now: number;
}

/** What a decision did. `inboxId` is the run's message, to wake when its run is parked. */
export type DecisionResult =
  | { readonly outcome: 'decided'; readonly approval: ApprovalRecord; readonly inboxId: number | null }
  /** decided before: the first decision stands */
  | { readonly outcome: 'already'; readonly approval: ApprovalRecord }
  /** too late: nobody decided in time (marked expired here when it was still pending) */
  | { readonly outcome: 'expired'; readonly approval: ApprovalRecord; readonly inboxId: number | null }
  | { readonly outcome: 'unknown' };

/**
 * Applies a decision to a pending approval, once: the first decision in time wins, a later one or
 * one past `expires_at` changes nothing. One transaction, so two presses at
 * once cannot both decide.
 */
export function decideApproval(sqlite: Database.Database, request: DecisionRequest): DecisionResult {
  return sqlite
    .transaction((): DecisionResult => {
      const found = prepared(sqlite, `SELECT ${APPROVAL_COLUMNS} FROM agent_approvals WHERE id = ?`).get(
        request.approvalId,
      ) as ApprovalRecord | undefined;
      if (found === undefined) return { outcome: 'unknown' };
      const { inboxId } = prepared(sqlite, 'SELECT inbox_id AS inboxId FROM agent_runs WHERE id = ?').get(
        found.runId,
      ) as { inboxId: number | null };
      if (found.status === 'expired') return { outcome: 'expired', approval: found, inboxId };
      if (found.status !== 'pending') return { outcome: 'already', approval: found };
      if (found.expiresAt <= request.now) {
        const approval = prepared(
          sqlite,
          `UPDATE agent_approvals SET status = 'expired', decided_at = ? WHERE id = ? RETURNING ${APPROVAL_COLUMNS}`,
        ).get(request.now, found.id) as ApprovalRecord;
        return { outcome: 'expired', approval, inboxId };
      }
      const { status, scope } = decisionFields(request.decision);
      const approval = prepared(
        sqlite,
        `UPDATE agent_approvals SET status = @status, scope = @scope, decided_at = @now, decided_by = @decidedBy
         WHERE id = @id RETURNING ${APPROVAL_COLUMNS}`,
      ).get({
        id: found.id,
        status,
        scope,
        now: request.now,
        decidedBy: request.decidedBy,
      }) as ApprovalRecord;
      return { outcome: 'decided', approval, inboxId };
    })
    .immediate();
}
