import type Database from 'better-sqlite3';
import { INBOX_COLUMNS, type InboxRow, type InboxStatus } from '../row';

/** Which items `listItems` returns; every field narrows the list. */
export interface ListFilter {
  readonly status?: InboxStatus;
  readonly chatId?: number;
  /** At most this many rows, newest first. */
  readonly limit: number;
}

/**
 * The newest items (by id, which is arrival order) matching the filter. Ordering by the primary
 * key keeps this a walk of the newest rows however large the inbox grows; the status and chat
 * filters use the `(status, available_at)` and `(chat_id, update_id)` indexes.
 */
export function listItems(sqlite: Database.Database, filter: ListFilter): InboxRow[] {
  const where: string[] = [];
  if (filter.status !== undefined) where.push('status = @status');
  if (filter.chatId !== undefined) where.push('chat_id = @chatId');
  const sql = `SELECT ${INBOX_COLUMNS} FROM inbox ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY id DESC LIMIT @limit`;
  return sqlite.prepare(sql).all({
    status: filter.status ?? null,
    chatId: filter.chatId ?? null,
    limit: filter.limit,
  }) as InboxRow[];
}
