import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** Marks a tool call running, just before it runs: a kill from here on is its resume policy's case. */
export function markToolRunning(sqlite: Database.Database, stepId: number, now: number): void {
  prepared(
    sqlite,
    `UPDATE agent_steps SET status = 'running', started_at = ? WHERE id = ? AND kind = 'tool'`,
  ).run(now, stepId);
}
