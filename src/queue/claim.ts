import type Database from 'better-sqlite3';
import { INBOX_COLUMNS, type InboxRow, type Lane } from './row';
import { prepared } from './statements';

// An item that may be claimed once its time comes: waiting, its chat has nothing earlier still
// open and nothing in flight. Each term on `e`, `p` and `i` is the WHERE of a partial index word
// for word (SQLite uses a partial index only for a query that states its condition), so the claim
// reads the open items alone and never walks a chat's done, dead or skipped rows: its cost
// follows the backlog, not the inbox's whole past.
// Lanes: a chat's `answer` and `control` items are ordered each on their own, so a command never
// waits behind an answer; a parked answer still holds its chat's later answers.
const CLAIMABLE = `i.status IN ('queued', 'failed')
  AND NOT EXISTS (
    SELECT 1 FROM inbox e WHERE e.chat_id = i.chat_id AND e.lane = i.lane AND e.update_id < i.update_id
      AND e.status IN ('queued', 'failed', 'processing', 'parked'))
  AND NOT EXISTS (
    SELECT 1 FROM inbox p WHERE p.chat_id = i.chat_id AND p.lane = i.lane AND p.status = 'processing')`;

// Crash-recovered items (error_class 'crash', set by `recoverInterrupted`) go after every other
// ready item, then oldest first. Such an item may be what killed or hung the worker: taken first
// it could bring the worker down again before anyone else is answered, while the messages that
// arrived during the outage are stored only after the restart, so no `available_at` set at
// recovery could place it behind them. An order, unlike a delay, costs a plain SIGKILL nothing
// when nothing else waits. The cost is that under a backlog that never drains such an item
// waits until it does; a backlog the worker keeps up with drains between bursts.
// The order is the column list of `inbox_ready_idx`. INDEXED BY because without ANALYZE
// statistics SQLite prefers the (status, available_at) range and sorts every ready item on
// every claim; the index is read in order and the scan stops at the first claimable item
// (and a missing index fails at prepare, not silently slow).
const CLAIM_SQL = `UPDATE inbox SET status = 'processing', attempts = attempts + 1, started_at = @now
  WHERE id = (
    SELECT i.id FROM inbox i INDEXED BY inbox_ready_idx WHERE i.lane = @lane AND ${CLAIMABLE}
      AND i.available_at <= @now
    ORDER BY i.lane, (i.error_class IS 'crash'), i.available_at, i.update_id LIMIT 1)
  RETURNING ${INBOX_COLUMNS}`;

const NEXT_AVAILABLE_SQL = `SELECT min(i.available_at) AS at FROM inbox i WHERE ${CLAIMABLE}`;

/** The claim's statement text, for plan checks. */
export const CLAIM_STATEMENTS = { claim: CLAIM_SQL, nextAvailable: NEXT_AVAILABLE_SQL } as const;

/**
 * Atomically takes the ready item of `lane` that has waited longest (by `available_at`, then update id)
 * among those whose chat lane has nothing earlier still open and nothing in flight, marks it
 * `processing` and counts the attempt. One statement, so two claimers (loops or processes) can
 * never take the same item or two items of one chat (a chat is answered in order). A retried item's
 * `available_at` is its retry time, so fresh messages of other chats go before it; an item put
 * back after a crash goes after every other ready item.
 */
export function claimNext(
  sqlite: Database.Database,
  now: number,
  lane: Lane = 'answer',
): InboxRow | undefined {
  // Prepared once per connection: preparing on every call was a sixth of the worker's time
  return prepared(sqlite, CLAIM_SQL).get({ now, lane }) as InboxRow | undefined;
}

/**
 * When the next claimable item becomes ready (ms), or undefined when none waits. Items behind an
 * earlier open message of their chat do not count: they wait for that one, not for a time.
 */
export function nextAvailableAt(sqlite: Database.Database): number | undefined {
  return (prepared(sqlite, NEXT_AVAILABLE_SQL).get() as { at: number | null }).at ?? undefined;
}
