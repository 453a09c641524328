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

// Rows deleted per transaction: each batch holds the write lock for milliseconds, so the worker
// and the supervisor never wait anywhere near their busy_timeout, however much is purged.
const BATCH = 2000;

/**
 * Deletes final items that finished before the cutoff (retention), in short transactions.
 * History keeps the conversation: its rows lose their link to the inbox (`inbox_id` becomes null)
 * and keep the text.
 */
export function purgeItems(sqlite: Database.Database, request: PurgeRequest): PurgeResult {
  const params = { status: request.status, before: request.finishedBefore };
  const found = sqlite
    .prepare(`SELECT count(*) AS n, min(id) AS first, max(id) AS last FROM inbox WHERE ${MATCH}`)
    .get(params) as { n: number; first: number | null; last: number | null };
  let deleted = 0;
  if (!request.dryRun && found.n > 0) {
    // history.inbox_id is indexed, so the foreign key's ON DELETE SET NULL is a lookup per row
    const batch = sqlite.prepare(
      `DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE ${MATCH} ORDER BY id LIMIT ${BATCH})`,
    );
    const deleteBatch = sqlite.transaction(() => batch.run(params).changes);
    for (let changes = BATCH; changes === BATCH; deleted += changes) changes = deleteBatch.immediate();
  }
  return { matched: found.n, deleted, firstId: found.first, lastId: found.last };
}
