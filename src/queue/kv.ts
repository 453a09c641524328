import type Database from 'better-sqlite3';
import { prepared } from './statements';

// The keys are a contract of their own (src/shared/contracts.ts); re-exported for the queue's users.
export { KV } from '../shared/contracts';

/** Reads a `kv` value, or undefined. */
export function getKv(sqlite: Database.Database, key: string): string | undefined {
  return prepared<[string], { value: string }>(sqlite, 'SELECT value FROM kv WHERE key = ?').get(key)?.value;
}

/** Writes a `kv` value. */
export function setKv(sqlite: Database.Database, key: string, value: string, now: number): void {
  prepared<[string, string, number]>(
    sqlite,
    `INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)
     ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  ).run(key, value, now);
}

/** Removes a `kv` value. */
export function deleteKv(sqlite: Database.Database, key: string): void {
  prepared<[string]>(sqlite, 'DELETE FROM kv WHERE key = ?').run(key);
}
