import type Database from 'better-sqlite3';

/** Statuses that are final; items still owed an answer are never purged. */
export const PURGEABLE_STATUSES = ['done', 'dead', 'skipped'] as const;
export type PurgeableStatus = (typeof PURGEABLE_STATUSES)[number];

export interface PurgeRequest {
  readonly status: PurgeableStatus;
  /** Items that finished before this time (ms) go. */
  readonly finishedBefore: number;
  /** Count only; change nothing. */
  readonly dryRun: boolean;
}

export interface PurgeResult {
  /** How many items match. */
  readonly matched: number;
  /** How many were deleted: 0 on a dry run. */
  readonly deleted: number;
  /** The lowest and highest matching ids, null when none match. */
  readonly firstId: number | null;
  readonly lastId: number | null;
}

const MATCH = `status = @status AND coalesce(finished_at, received_at) < @before`;

/**
 * Deletes final items that finished before the cutoff (retention). History keeps the
 * conversation: its rows lose their link to the inbox (`inbox_id` becomes null) and keep the text.
 * Counting and deleting happen under one write lock, so the numbers describe what went.
 */
export function purgeItems(sqlite: Database.Database, request: PurgeRequest): PurgeResult {
  const params = { status: request.status, before: request.finishedBefore };
  const purge = sqlite.transaction((): PurgeResult => {
    const found = sqlite
      .prepare(`SELECT count(*) AS n, min(id) AS first, max(id) AS last FROM inbox WHERE ${MATCH}`)
      .get(params) as { n: number; first: number | null; last: number | null };
    // history.inbox_id is indexed, so the foreign key's ON DELETE SET NULL is a lookup per row
    const deleted =
      !request.dryRun && found.n > 0
        ? sqlite.prepare(`DELETE FROM inbox WHERE ${MATCH}`).run(params).changes
        : 0;
    return { matched: found.n, deleted, firstId: found.first, lastId: found.last };
  });
  return request.dryRun ? purge.deferred() : purge.immediate();
}
