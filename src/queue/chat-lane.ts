import type Database from 'better-sqlite3';
import { prepared } from './statements';

/**
 * Ends a chat's answers still waiting (queued, failed, parked) that arrived before update
 * `beforeUpdateId` as `skipped` with the reason: `/stop`. Returns their inbox ids.
 */
export function skipWaitingAnswers(
  sqlite: Database.Database,
  chatId: number,
  threadId: number | null,
  beforeUpdateId: number,
  reason: string,
  now: number,
): number[] {
  return prepared(
    sqlite,
    `UPDATE inbox SET status = 'skipped', error = ?, error_class = 'skipped', finished_at = ?
     WHERE chat_id = ? AND thread_id IS ? AND lane = 'answer' AND update_id < ?
       AND status IN ('queued', 'failed', 'parked')
     RETURNING id`,
  )
    .pluck()
    .all(reason, now, chatId, threadId, beforeUpdateId) as number[];
}

/** A chat's answer lane at a glance, for `/status`. */
export interface ChatLaneState {
  /** Messages waiting for an answer (queued, failed, parked). */
  readonly waiting: number;
  /** The newest error of the chat's items, with when it was recorded. */
  readonly lastError: { readonly message: string; readonly at: number } | null;
}

/** How a chat's answers stand. */
export function chatLaneState(sqlite: Database.Database, chatId: number): ChatLaneState {
  const waiting = prepared(
    sqlite,
    `SELECT count(*) FROM inbox WHERE chat_id = ? AND lane = 'answer' AND status IN ('queued', 'failed', 'parked')`,
  )
    .pluck()
    .get(chatId) as number;
  const last = prepared(
    sqlite,
    `SELECT error AS message, coalesce(finished_at, started_at, received_at) AS at FROM inbox
     WHERE chat_id = ? AND error IS NOT NULL AND coalesce(error_class, '') NOT IN ('skipped', 'parked')
     ORDER BY id DESC LIMIT 1`,
  ).get(chatId) as { message: string; at: number } | undefined;
  return { waiting, lastError: last ?? null };
}
