import type Database from 'better-sqlite3';
import { prepared } from './statements';

/** `available_at` of an item parked with no deadline: it waits for its event alone. */
export const PARKED_FOREVER = Number.MAX_SAFE_INTEGER;

/**
 * Parks an item in flight: it waits for an outside event (a person's decision, a timer) holding
 * no loop and no attempt (the claim's attempt is given back). Its chat's later answers stay behind
 * it; other chats go on. `until` is when it goes back to work by itself (null: only on its event).
 */
export function parkItem(sqlite: Database.Database, id: number, until: number | null, reason: string): void {
  prepared(
    sqlite,
    `UPDATE inbox SET status = 'parked', attempts = max(0, attempts - 1), available_at = ?, error = ?,
       error_class = 'parked', error_code = NULL WHERE id = ? AND status = 'processing'`,
  ).run(until ?? PARKED_FOREVER, reason, id);
}

/** Puts a parked item back to work at once (its event came). Returns whether it was parked. */
export function unparkItem(sqlite: Database.Database, id: number, now: number): boolean {
  return (
    prepared(
      sqlite,
      `UPDATE inbox SET status = 'queued', available_at = ?, error = NULL, error_class = NULL
       WHERE id = ? AND status = 'parked'`,
    ).run(now, id).changes > 0
  );
}

/** Puts every parked item whose time has come back to work. Returns how many. */
export function unparkDue(sqlite: Database.Database, now: number): number {
  return prepared(
    sqlite,
    `UPDATE inbox SET status = 'queued', error = NULL, error_class = NULL
     WHERE status = 'parked' AND available_at <= ?`,
  ).run(now).changes;
}
