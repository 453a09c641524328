import type Database from 'better-sqlite3';
import { ROLLBACK_EVENT } from '../shared/contracts';
import { prepared } from './statements';

/** A `rollback` event as the worker announces it; `detail` is a `RollbackDetail` as JSON. */
export interface RollbackEvent {
  readonly id: number;
  readonly revision: string | null;
  readonly detail: string | null;
}

/**
 * The supervisor's `rollback` events after `afterId`, oldest first: the worker's only read of
 * `supervisor_events` (it tells the admin chats, since only the worker talks to Telegram).
 */
export function rollbackEventsAfter(sqlite: Database.Database, afterId: number): RollbackEvent[] {
  return prepared<[string, number], RollbackEvent>(
    sqlite,
    'SELECT id, revision, detail FROM supervisor_events WHERE event = ? AND id > ? ORDER BY id',
  ).all(ROLLBACK_EVENT, afterId);
}
