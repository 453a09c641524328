import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** The git checkpoint (JSON) kept by the run of an inbox item, or undefined when it keeps none. */
export function runCheckpoint(sqlite: Database.Database, inboxId: number): string | undefined {
  const row = prepared<[number], { checkpoint: string | null }>(
    sqlite,
    'SELECT checkpoint FROM agent_runs WHERE inbox_id = ?',
  ).get(inboxId);
  return row?.checkpoint ?? undefined;
}
