import type Database from 'better-sqlite3';
import type { InboxStatus } from '../row';

/** Statuses an operator may send back to the queue. */
export const RETRYABLE_STATUSES = ['failed', 'dead', 'skipped'] as const;
export type RetryableStatus = (typeof RETRYABLE_STATUSES)[number];

/** An item sent back to the queue, with the status it had. */
export interface Requeued {
  readonly id: number;
  readonly updateId: number;
  readonly chatId: number | null;
  readonly previousStatus: InboxStatus;
  /** It had killed the worker on every attempt: retrying it crashes the worker again. */
  readonly killedWorker: boolean;
}

/** An id that cannot be retried, and why (a sentence). */
export interface Refused {
  readonly id: number;
  readonly reason: string;
}

export interface RetryResult {
  readonly requeued: readonly Requeued[];
  readonly refused: readonly Refused[];
}

/** Why an item may not be retried, or null when it may. Pure. */
export function retryRefusal(id: number, status: InboxStatus | undefined): string | null {
  switch (status) {
    case undefined:
      return `There is no inbox item with id ${id}.`;
    case 'done':
      return `Item ${id} is done: it was answered already, so there is nothing to retry.`;
    case 'processing':
      return `Item ${id} is being processed right now: retry it only if it fails.`;
    case 'queued':
      return `Item ${id} is already queued.`;
    case 'parked':
      return `Item ${id} is parked, waiting for an outside event (a decision, a timer): it goes back to work by itself when that comes.`;
    case 'failed':
    case 'dead':
    case 'skipped':
      return null;
  }
}

// Back to the queue, ready now, with a fresh allowance of attempts. The stored reply is kept on
// purpose: an item that died while sending is answered from it, without asking the model again.
// Per-chat order still holds: the claim serves a chat's lowest open update_id first, so a retried
// old item is answered before anything newer of its chat that is still waiting.
const REQUEUE = `UPDATE inbox SET status = 'queued', attempts = 0, available_at = @now, error = NULL,
  error_class = NULL, error_code = NULL, started_at = NULL, finished_at = NULL`;

/**
 * Requeues the given items, all or none: when any id is unknown or not retryable, nothing
 * changes and `refused` says why for each. Read and write share one write lock, so an item the
 * worker claims in the meantime is never touched.
 */
export function retryItems(sqlite: Database.Database, ids: readonly number[], now: number): RetryResult {
  const read = sqlite.prepare(
    `SELECT id, update_id AS updateId, chat_id AS chatId, status, error_class = 'crash' AS killedWorker
     FROM inbox WHERE id = ?`,
  );
  const update = sqlite.prepare(`${REQUEUE} WHERE id = @id`);
  return sqlite
    .transaction((): RetryResult => {
      const found: Requeued[] = [];
      const refused: Refused[] = [];
      for (const id of new Set(ids)) {
        const row = read.get(id) as
          | { id: number; updateId: number; chatId: number | null; status: InboxStatus; killedWorker: number }
          | undefined;
        const reason = retryRefusal(id, row?.status);
        if (reason !== null || row === undefined) refused.push({ id, reason: reason ?? '' });
        else
          found.push({
            id: row.id,
            updateId: row.updateId,
            chatId: row.chatId,
            previousStatus: row.status,
            killedWorker: row.killedWorker === 1,
          });
      }
      if (refused.length > 0) return { requeued: [], refused };
      for (const item of found) update.run({ id: item.id, now });
      return { requeued: found, refused: [] };
    })
    .immediate();
}

/** Requeues every item in `status`; returns them, oldest first. */
export function retryByStatus(sqlite: Database.Database, status: RetryableStatus, now: number): Requeued[] {
  // RETURNING sees the row after the update, so the crash marker is read first, in one transaction
  return sqlite
    .transaction(() => {
      const crashed = new Set(
        (
          sqlite.prepare(`SELECT id FROM inbox WHERE status = ? AND error_class = 'crash'`).all(status) as {
            id: number;
          }[]
        ).map((r) => r.id),
      );
      const rows = sqlite
        .prepare(`${REQUEUE} WHERE status = @status RETURNING id, update_id AS updateId, chat_id AS chatId`)
        .all({ status, now }) as { id: number; updateId: number; chatId: number | null }[];
      return rows
        .map((row) => ({ ...row, previousStatus: status, killedWorker: crashed.has(row.id) }))
        .sort((a, b) => a.id - b.id);
    })
    .immediate();
}
