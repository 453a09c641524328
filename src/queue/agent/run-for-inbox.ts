import type Database from 'better-sqlite3';
import { RUN_COLUMNS, type RunRow } from './rows';
import { prepared } from '../statements';

/**
 * The run of an inbox item, or undefined: for the worker when runAgent threw (to fail the run once
 * its message is dead) and for `/status` (the run's step and elapsed time).
 */
export function runForInbox(sqlite: Database.Database, inboxId: number): RunRow | undefined {
  return prepared(sqlite, `SELECT ${RUN_COLUMNS} FROM agent_runs WHERE inbox_id = ?`).get(inboxId) as
    RunRow | undefined;
}
