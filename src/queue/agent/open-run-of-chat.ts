import type Database from 'better-sqlite3';
import { RUN_COLUMNS, type RunRow } from './rows';
import { prepared } from '../statements';

/** The chat's newest run that has not finished (running or parked), or undefined: for `/project`. */
export function openRunOfChat(sqlite: Database.Database, chatId: number): RunRow | undefined {
  return prepared(
    sqlite,
    `SELECT ${RUN_COLUMNS} FROM agent_runs WHERE chat_id = ? AND status IN ('running', 'parked')
     ORDER BY id DESC LIMIT 1`,
  ).get(chatId) as RunRow | undefined;
}
