// The worker's self-test item: one inbox row with no update from Telegram behind it, which a
// candidate revision takes through its own scheduler to show that claiming and settling work.

import type Database from 'better-sqlite3';
import { SELFTEST_KIND } from '../shared/contracts';
import { prepared } from './statements';

/**
 * Deletes every self-test row an earlier process left, whatever its status: it proves nothing
 * about this process, and one row per start would otherwise pile up. Call before anything is
 * claimed. Returns how many went.
 */
export function clearSelftests(sqlite: Database.Database): number {
  // an update from Telegram that happened to be named so has a positive id and stays
  return prepared<[string]>(sqlite, 'DELETE FROM inbox WHERE kind = ? AND update_id < 0').run(SELFTEST_KIND)
    .changes;
}

/**
 * Queues a self-test item on the control lane, ready at `now`: no chat, no text. `updateId` must
 * be negative, so that it can never meet an update from Telegram (whose ids are positive) and the
 * offset, which follows what Telegram returned, never sees it. Returns the item's inbox id.
 */
export function enqueueSelftest(sqlite: Database.Database, updateId: number, now: number): number {
  if (!(Number.isSafeInteger(updateId) && updateId < 0)) {
    throw new Error(`a self-test update id must be a negative integer, not ${updateId}`);
  }
  const row = prepared<[number, string, number, number], { id: number }>(
    sqlite,
    `INSERT INTO inbox (update_id, chat_id, kind, text, lane, status, available_at, received_at)
     VALUES (?, NULL, ?, NULL, 'control', 'queued', ?, ?) RETURNING id`,
  ).get(updateId, SELFTEST_KIND, now, now);
  return row!.id;
}

/** The status of revision `id` in `supervisor_revisions` (candidate, good, bad), or null when unknown. */
export function revisionStatus(sqlite: Database.Database, id: string): string | null {
  const row = prepared<[string], { status: string }>(
    sqlite,
    'SELECT status FROM supervisor_revisions WHERE id = ?',
  ).get(id);
  return row?.status ?? null;
}
