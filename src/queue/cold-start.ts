import type Database from 'better-sqlite3';
import { KV } from '../shared/contracts';
import { deleteKv } from './kv';
import { prepared } from './statements';

/**
 * Ends a cold start: of what it queued (never attempted), keeps the newest `keep` by update id
 * and skips the rest with `reason`, and clears the cold-start mark, in one transaction (a kill
 * half-way leaves the mark, and the next start finishes the job). Returns how many were skipped.
 */
export function endColdStart(sqlite: Database.Database, keep: number, reason: string, now: number): number {
  return sqlite
    .transaction(() => {
      const result = prepared<[string, number, number]>(
        sqlite,
        `UPDATE inbox SET status = 'skipped', error = ?, error_class = 'skipped', finished_at = ?
         WHERE status = 'queued' AND attempts = 0 AND id NOT IN (
           SELECT id FROM inbox WHERE status = 'queued' AND attempts = 0 ORDER BY update_id DESC LIMIT ?)`,
      ).run(reason, now, keep);
      deleteKv(sqlite, KV.coldStart);
      return result.changes;
    })
    .immediate();
}
