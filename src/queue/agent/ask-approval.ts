import type Database from 'better-sqlite3';
import type { ApprovalAsk, ApprovalRecord } from '../../agent/journal';
import { APPROVAL_COLUMNS } from './rows';
import { prepared } from '../statements';

/** Records a pending approval for one tool call, before its card is sent. */
export function askApproval(sqlite: Database.Database, ask: ApprovalAsk, now: number): ApprovalRecord {
  return prepared(
    sqlite,
    `INSERT INTO agent_approvals (run_id, step_id, tool_call_id, tool, call_hash, status, chat_id, asked_at, expires_at)
     VALUES (@runId, @stepId, @toolCallId, @tool, @callHash, 'pending', @chatId, @now, @expiresAt)
     RETURNING ${APPROVAL_COLUMNS}`,
  ).get({ ...ask, now }) as ApprovalRecord;
}
