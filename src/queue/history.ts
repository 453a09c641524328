import type Database from 'better-sqlite3';
import { prepared } from './statements';

/** A past turn of a chat, oldest first. */
export interface Turn {
  readonly role: 'user' | 'assistant';
  readonly text: string;
}

/**
 * The newest `limit` turns of a chat written before inbox item `beforeInboxId` (turns of no inbox
 * item, such as imported ones, count as earlier), oldest first.
 */
export function recentTurns(
  sqlite: Database.Database,
  chatId: number,
  beforeInboxId: number,
  limit: number,
): Turn[] {
  const rows = prepared(
    sqlite,
    `SELECT role, text FROM history WHERE chat_id = ? AND (inbox_id IS NULL OR inbox_id < ?) ORDER BY id DESC LIMIT ?`,
  ).all(chatId, beforeInboxId, limit) as Turn[];
  return rows.reverse();
}
