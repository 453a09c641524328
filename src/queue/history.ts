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
 * `afterInboxId` is given (the chat's `/new`), after that item; oldest first, reading back no
 * further than `maxTokens` of stored estimates (one turn past it). Turns of no inbox item
 * (imported ones) count as before everything.
 */
export function recentTurns(
  sqlite: Database.Database,
  chatId: number,
  beforeInboxId: number,
  limit: number,
  afterInboxId = 0,
  maxTokens = Number.POSITIVE_INFINITY,
): Turn[] {
  const rows = (
    afterInboxId > 0
      ? prepared(
          sqlite,
          `SELECT role, text, tokens FROM history WHERE chat_id = ? AND inbox_id < ? AND inbox_id > ? ORDER BY id DESC LIMIT ?`,
        ).iterate(chatId, beforeInboxId, afterInboxId, limit)
      : prepared(
          sqlite,
          `SELECT role, text, tokens FROM history WHERE chat_id = ? AND (inbox_id IS NULL OR inbox_id < ?) ORDER BY id DESC LIMIT ?`,
        ).iterate(chatId, beforeInboxId, limit)
  ) as IterableIterator<Turn>;
  const turns: Turn[] = [];
  let tokens = 0;
  // newest first, and no further than the stored estimates say can fit: a long history is not
  // read whole for every message (turns without an estimate count as fitting)
  for (const turn of rows) {
    tokens += turn.tokens ?? 0;
    turns.push(turn);
    if (tokens > maxTokens) break;
  }
  return turns.reverse();
}
