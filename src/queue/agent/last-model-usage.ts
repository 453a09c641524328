import type Database from 'better-sqlite3';
import type { Usage } from '../../agent/ports';
import { prepared } from '../statements';

/**
 * The prompt and cached tokens of the session's newest model response, or undefined before its
 * first: `/status` shows how much of the last request the provider's cache served.
 */
export function lastModelUsage(
  sqlite: Database.Database,
  sessionId: number,
): Pick<Usage, 'promptTokens' | 'cachedTokens'> | undefined {
  return prepared(
    sqlite,
    `SELECT s.prompt_tokens AS promptTokens, s.cached_tokens AS cachedTokens
     FROM agent_runs r JOIN agent_steps s ON s.run_id = r.id AND s.kind = 'model'
     WHERE r.session_id = ? ORDER BY r.id DESC, s.seq DESC LIMIT 1`,
  ).get(sessionId) as Pick<Usage, 'promptTokens' | 'cachedTokens'> | undefined;
}
