// The approval operations the worker's approval modules use (deciding, expiring, reading an
// approval and its run), as one port over SQLite, the way `Store` is the inbox's.

import type Database from 'better-sqlite3';
import type { RunRow } from './rows';
import { approvalDetail, type ApprovalDetail } from './approval-detail';
import { decideApproval, type DecisionRequest, type DecisionResult } from './decide-approval';
import { expireDueApprovals, type ExpiredApproval } from './expire-due-approvals';
import { expireRunApprovalsNow } from './expire-run-approvals';
import { nextApprovalExpiry } from './next-approval-expiry';
import { openRunOfChat } from './open-run-of-chat';
import { setApprovalCard } from './set-approval-card';

/** The approvals, as the worker's approval modules see them. */
export interface ApprovalStore {
  /** An approval with its run's message and card; undefined when there is none. */
  detail(approvalId: number): ApprovalDetail | undefined;
  /** Records a person's decision, in one transaction. */
  decide(request: DecisionRequest): DecisionResult;
  /** Expires the pending approvals whose time is up; returns them. */
  expireDue(now: number): ExpiredApproval[];
  /** Expires a run's pending approvals now (the run ended); returns how many. */
  expireOfRun(runId: number, now: number): number;
  /** When the next pending approval expires, if any is pending. */
  nextExpiry(): number | undefined;
  /** The chat's run that has not ended, if any. */
  openRunOfChat(chatId: number): RunRow | undefined;
  /** Records the message of an approval's card once it is sent. */
  setCard(approvalId: number, messageId: number): void;
}

/** The approval store over one SQLite connection. */
export function sqliteApprovalStore(sqlite: Database.Database): ApprovalStore {
  return {
    detail: (approvalId) => approvalDetail(sqlite, approvalId),
    decide: (request) => decideApproval(sqlite, request),
    expireDue: (now) => expireDueApprovals(sqlite, now),
    expireOfRun: (runId, now) => expireRunApprovalsNow(sqlite, runId, now),
    nextExpiry: () => nextApprovalExpiry(sqlite),
    openRunOfChat: (chatId) => openRunOfChat(sqlite, chatId),
    setCard: (approvalId, messageId) => setApprovalCard(sqlite, approvalId, messageId),
  };
}
