import type Database from 'better-sqlite3';
import { HEARTBEAT_ROW, type Readiness } from '../shared/contracts';
import { prepared } from './statements';

/**
 * Writes the worker's heartbeat: `heartbeat_at` of its own `supervisor_state` row, the only
 * supervisor row the worker writes (DESIGN: Processes). The supervisor's store reads it.
 */
export function writeHeartbeat(sqlite: Database.Database, now: number): void {
  prepared<[string, number, number]>(
    sqlite,
    `INSERT INTO supervisor_state (name, heartbeat_at, updated_at) VALUES (?, ?, ?)
     ON CONFLICT(name) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, updated_at = excluded.updated_at`,
  ).run(HEARTBEAT_ROW, now, now);
}

/**
 * Writes the worker's readiness into the same row, the whole of it each time: `readiness` and
 * `ready_at` always belong to one process, so a start can never leave the last one's half behind.
 */
export function writeReadiness(
  sqlite: Database.Database,
  readiness: Readiness,
  readyAt: number | null,
  now: number,
): void {
  prepared<[string, string, number | null, number]>(
    sqlite,
    `INSERT INTO supervisor_state (name, readiness, ready_at, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT(name) DO UPDATE SET readiness = excluded.readiness, ready_at = excluded.ready_at,
       updated_at = excluded.updated_at`,
  ).run(HEARTBEAT_ROW, JSON.stringify(readiness), readyAt, now);
}
