import type Database from 'better-sqlite3';
import { prepared } from './statements';

/** A past turn of a chat, oldest first. */
export interface Turn {
  readonly role: 'user' | 'assistant';
  readonly text: string;
  /** The text's estimated tokens, stored with it (null for turns stored before that). */
  readonly tokens?: number | null;
}

/**
 * The newest `limit` turns of a chat written before inbox item `beforeInboxId` and, when
 * `afterInboxId` is given (the chat's `/new`), after that item; oldest first. Turns of no inbox
 * item (imported ones) count as before everything.
 */
export function recentTurns(
  sqlite: Database.Database,
  chatId: number,
  beforeInboxId: number,
  limit: number,
  afterInboxId = 0,
): Turn[] {
  const rows = (
    afterInboxId > 0
      ? prepared(
          sqlite,
          `SELECT role, text, tokens FROM history WHERE chat_id = ? AND inbox_id < ? AND inbox_id > ? ORDER BY id DESC LIMIT ?`,
        ).all(chatId, beforeInboxId, afterInboxId, limit)
      : prepared(
          sqlite,
          `SELECT role, text, tokens FROM history WHERE chat_id = ? AND (inbox_id IS NULL OR inbox_id < ?) ORDER BY id DESC LIMIT ?`,
        ).all(chatId, beforeInboxId, limit)
  ) as Turn[];
  return rows.reverse();
}
