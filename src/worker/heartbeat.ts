import type Database from 'better-sqlite3';
import { writeHeartbeat } from '../queue/heartbeat';

/**
 * Beats every `seconds` while the event loop turns. A worker stuck in a synchronous loop stops
 * beating, which is what the supervisor's watchdog looks for. Returns the stop function.
 */
export function startHeartbeat(
  sqlite: Database.Database,
  seconds: number,
  now: () => number,
  onError: (err: unknown) => void,
): () => void {
  const tick = (): void => {
    try {
      writeHeartbeat(sqlite, now());
    } catch (err) {
      onError(err);
    }
  };
  tick();
  const timer = setInterval(tick, seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
