import type Database from 'better-sqlite3';
import type { RunStatus } from '../../agent/journal';
import { RUN_COLUMNS, type RunRow } from './rows';

/** A run as `runs ls` shows it: its row, the request's text and how many tool calls it made. */
export interface RunSummary extends RunRow {
  /** The person's message (null once the inbox item is purged). */
  readonly request: string | null;
  readonly toolCalls: number;
}

/** Which runs `listRuns` returns; every field narrows the list. */
export interface RunFilter {
  readonly chatId?: number;
  readonly status?: RunStatus;
  /** At most this many runs, newest first. */
  readonly limit: number;
}

// the run's columns prefixed for the joins below
const R_COLUMNS = RUN_COLUMNS.replace(/(^|,\s*)(\w+)/g, '$1r.$2');

/** The SELECT of a run summary; `where` narrows it. */
export function runSummarySql(where: string): string {
  return `SELECT ${R_COLUMNS},
      (SELECT i.text FROM inbox i WHERE i.id = r.inbox_id) AS request,
      (SELECT count(*) FROM agent_steps s WHERE s.run_id = r.id AND s.kind = 'tool') AS toolCalls
    FROM agent_runs r ${where}`;
}

/** The newest runs matching the filter (by id, which is start order). */
export function listRuns(sqlite: Database.Database, filter: RunFilter): RunSummary[] {
  const where: string[] = [];
  if (filter.chatId !== undefined) where.push('r.chat_id = @chatId');
  if (filter.status !== undefined) where.push('r.status = @status');
  const sql = `${runSummarySql(where.length > 0 ? `WHERE ${where.join(' AND ')}` : '')} ORDER BY r.id DESC LIMIT @limit`;
  return sqlite.prepare(sql).all({
    chatId: filter.chatId ?? null,
    status: filter.status ?? null,
    limit: filter.limit,
  }) as RunSummary[];
}
