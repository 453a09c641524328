// How the agent-run handler parks an item whose run waits for an approval.

import type Database from 'better-sqlite3';
import { approvalDetail } from '../../queue/agent/approval-detail';
import type { Outcome } from '../handlers/handler';

/**
 * After the expiry the sweeper wakes the item (and edits the card); the item's own deadline is
 * this much later, a backstop should the sweeper not run (its run then sees the expiry itself).
 */
export const EXPIRY_BACKSTOP_MS = 60_000;

/** The parked outcome of a run waiting for approval `approvalId` (runAgent's `approvalId`). */
export function parkedForApproval(sqlite: Database.Database, approvalId: number): Outcome {
  const detail = approvalDetail(sqlite, approvalId);
  return {
    kind: 'parked',
    until: detail === undefined ? null : detail.approval.expiresAt + EXPIRY_BACKSTOP_MS,
    reason: `waiting for a decision on approval #${approvalId}`,
  };
}
