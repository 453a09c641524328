import type Database from 'better-sqlite3';
import { writeHeartbeat } from '../queue/heartbeat';
import { describeError, type Logger } from '../shared/log';

/**
 * Beats every `seconds` while the event loop turns. A worker stuck in a synchronous loop stops
 * beating, which is what the supervisor's watchdog looks for. Returns the stop function.
 */
export function startHeartbeat(
  sqlite: Database.Database,
  seconds: number,
  now: () => number,
  log: Logger,
): () => void {
  const tick = (): void => {
    try {
      writeHeartbeat(sqlite, now());
    } catch (err) {
      // a missed beat is one the watchdog forgives; the next tick writes again
      log.warn('heartbeat write failed', { error: describeError(err) });
    }
  };
  tick();
  const timer = setInterval(tick, seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
