import type Database from 'better-sqlite3';
import { prepared } from './statements';

/** Items waiting to be worked on (queued or failed, both lanes) and dead items, for the metrics. */
export function queueFigures(sqlite: Database.Database): { readonly depth: number; readonly dead: number } {
  return prepared(
    sqlite,
    `SELECT
       (SELECT count(*) FROM inbox WHERE status IN ('queued', 'failed')) AS depth,
       (SELECT count(*) FROM inbox WHERE status = 'dead') AS dead`,
  ).get() as { depth: number; dead: number };
}
