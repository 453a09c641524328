import type Database from 'better-sqlite3';
import { APPROVAL_COLUMNS, type ApprovalRecord } from './rows';
import { prepared } from '../statements';

/** An approval with what a card needs to show it again, and what waking its run needs. */
export interface ApprovalDetail {
  readonly approval: ApprovalRecord;
  /** The call's raw JSON arguments. */
  readonly arguments: string | null;
  /** The run's message (to unpark), null when the run has no inbox item. */
  readonly inboxId: number | null;
  readonly project: string;
  /** Other approvals of the same run still waiting for a decision. */
  readonly otherPending: number;
}

const A_COLUMNS = APPROVAL_COLUMNS.replace(/(^|,\s*)(\w+)/g, '$1a.$2');

/** One approval with its call's arguments and its run's message, or undefined. */
export function approvalDetail(sqlite: Database.Database, approvalId: number): ApprovalDetail | undefined {
  const row = prepared(
    sqlite,
    `SELECT ${A_COLUMNS}, s.arguments AS arguments, r.inbox_id AS inboxId, r.project AS project,
       (SELECT count(*) FROM agent_approvals o WHERE o.run_id = a.run_id AND o.id <> a.id AND o.status = 'pending')
         AS otherPending
     FROM agent_approvals a JOIN agent_steps s ON s.id = a.step_id JOIN agent_runs r ON r.id = a.run_id
     WHERE a.id = ?`,
  ).get(approvalId) as (ApprovalRecord & Omit<ApprovalDetail, 'approval'>) | undefined;
  if (row === undefined) return undefined;
  const { arguments: args, inboxId, project, otherPending, ...approval } = row;
  return { approval, arguments: args, inboxId, project, otherPending };
}
