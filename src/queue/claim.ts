import type Database from 'better-sqlite3';
import { INBOX_COLUMNS, type InboxRow, type Lane } from './row';
import { prepared } from './statements';

// An item that may be claimed once its time comes: waiting, and in its chat's lane nothing
// earlier is still open and nothing is in flight. The lanes of one chat do not wait for each
// other: a command never waits behind an answer.
const CLAIMABLE = `i.status IN ('queued', 'failed')
  AND NOT EXISTS (
    SELECT 1 FROM inbox e WHERE e.chat_id = i.chat_id AND e.lane = i.lane AND e.update_id < i.update_id
      AND e.status IN ('queued', 'failed', 'processing', 'parked'))
  AND NOT EXISTS (
    SELECT 1 FROM inbox p WHERE p.chat_id = i.chat_id AND p.lane = i.lane AND p.status = 'processing')`;

/**
 * Atomically takes the ready item of `lane` that has waited longest (by `available_at`, then
 * update id) among those whose chat has nothing earlier still open and nothing in flight in that
 * lane, marks it `processing` and counts the attempt. One statement, so two claimers (loops or
 * processes) can never take the same item or two items of one chat's lane (invariants 2 and 5).
 * A retried item's `available_at` is its retry time, so fresh messages of other chats go before it.
 */
export function claimNext(
  sqlite: Database.Database,
  now: number,
  lane: Lane = 'answer',
): InboxRow | undefined {
  return prepared(
    sqlite,
    `UPDATE inbox SET status = 'processing', attempts = attempts + 1, started_at = @now
     WHERE id = (
       SELECT i.id FROM inbox i WHERE i.lane = @lane AND ${CLAIMABLE} AND i.available_at <= @now
       ORDER BY i.available_at, i.update_id LIMIT 1)
     RETURNING ${INBOX_COLUMNS}`,
  ).get({ now, lane }) as InboxRow | undefined;
}

/**
 * When the next claimable item becomes ready (ms), or undefined when none waits. Items behind an
 * earlier open message of their chat do not count: they wait for that one, not for a time.
 */
export function nextAvailableAt(sqlite: Database.Database): number | undefined {
  const row = prepared(sqlite, `SELECT min(i.available_at) AS at FROM inbox i WHERE ${CLAIMABLE}`).get() as {
    at: number | null;
  };
  return row.at ?? undefined;
}
