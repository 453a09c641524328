import type Database from 'better-sqlite3';
import { INBOX_STATUSES, type InboxStatus } from '../../db/schema';

/** How many items are in each status; every status is present, zero when empty. */
export type StatusCounts = Record<InboxStatus, number>;

/** Counts the items of every status (one pass over the status index). */
export function countByStatus(sqlite: Database.Database): StatusCounts {
  const counts = Object.fromEntries(INBOX_STATUSES.map((s) => [s, 0])) as StatusCounts;
  const rows = sqlite.prepare('SELECT status, count(*) AS n FROM inbox GROUP BY status').all() as {
    status: string;
    n: number;
  }[];
  for (const row of rows) {
    if ((INBOX_STATUSES as readonly string[]).includes(row.status)) counts[row.status as InboxStatus] = row.n;
  }
  return counts;
}

/** When the oldest item still owed an answer arrived (ms), or null when nothing waits. */
export function oldestWaitingAt(sqlite: Database.Database): number | null {
  const row = sqlite
    .prepare(`SELECT min(received_at) AS at FROM inbox WHERE status IN ('queued', 'failed', 'processing')`)
    .get() as { at: number | null };
  return row.at;
}

/** How many items died at or after `since` (ms). */
export function countDeadSince(sqlite: Database.Database, since: number): number {
  const row = sqlite
    .prepare(
      `SELECT count(*) AS n FROM inbox WHERE status = 'dead' AND coalesce(finished_at, received_at) >= ?`,
    )
    .get(since) as { n: number };
  return row.n;
}
