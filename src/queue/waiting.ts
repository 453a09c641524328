import type Database from 'better-sqlite3';
import { prepared } from './statements';

/** A text message that waits behind an answer of its chat in progress. */
export interface WaitingMessage {
  readonly id: number;
  readonly chatId: number;
  readonly messageId: number | null;
  /** Its forum topic (null: none). */
  readonly threadId: number | null;
  /** Whether the answer it waits behind is parked for an approval (no run takes it in then). */
  readonly behindParked: boolean;
  /** Whether it waits behind a run of another forum topic of its chat (which does not take it in). */
  readonly behindOtherTopic: boolean;
}

/**
 * The text messages stored after inbox item `afterId` that wait behind an answer of their chat
 * that is being worked or is parked, oldest first.
 */
export function waitingSince(sqlite: Database.Database, afterId: number): WaitingMessage[] {
  const rows = prepared(
    sqlite,
    `SELECT i.id, i.chat_id AS chatId, i.message_id AS messageId, i.thread_id AS threadId,
       EXISTS (SELECT 1 FROM inbox o WHERE o.chat_id = i.chat_id AND o.lane = 'answer' AND o.status = 'parked'
         AND o.id < i.id) AS behindParked,
       EXISTS (SELECT 1 FROM inbox o WHERE o.chat_id = i.chat_id AND o.lane = 'answer'
         AND o.status IN ('processing', 'parked') AND o.id < i.id AND o.thread_id IS NOT i.thread_id) AS behindOtherTopic
     FROM inbox i
     WHERE i.id > ? AND i.lane = 'answer' AND i.status = 'queued' AND i.kind = 'text' AND i.text IS NOT NULL
       AND EXISTS (SELECT 1 FROM inbox o WHERE o.chat_id = i.chat_id AND o.lane = 'answer'
         AND o.status IN ('processing', 'parked') AND o.id < i.id)
     ORDER BY i.id`,
  ).all(afterId) as (Omit<WaitingMessage, 'behindParked' | 'behindOtherTopic'> & {
    behindParked: number;
    behindOtherTopic: number;
  })[];
  return rows.map((r) => ({
    ...r,
    behindParked: r.behindParked === 1,
    behindOtherTopic: r.behindOtherTopic === 1,
  }));
}

/** The newest inbox id (0 for an empty inbox). */
export function newestInboxId(sqlite: Database.Database): number {
  return prepared(sqlite, 'SELECT coalesce(max(id), 0) FROM inbox').pluck().get() as number;
}
