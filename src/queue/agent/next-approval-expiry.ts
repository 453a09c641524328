import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** When the next pending approval expires (ms), or undefined when none waits: the worker's timer. */
export function nextApprovalExpiry(sqlite: Database.Database): number | undefined {
  const row = prepared(
    sqlite,
    `SELECT min(expires_at) AS at FROM agent_approvals WHERE status = 'pending'`,
  ).get() as {
    at: number | null;
  };
  return row.at ?? undefined;
}
