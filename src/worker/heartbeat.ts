import type Database from 'better-sqlite3';

/** The worker's own row in `supervisor_state`: the only supervisor row it writes. */
export const HEARTBEAT_ROW = 'worker-heartbeat';

/** Writes the heartbeat now. */
export function beat(sqlite: Database.Database, now: number): void {
  sqlite
    .prepare(
      `INSERT INTO supervisor_state (name, heartbeat_at, updated_at) VALUES (?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, updated_at = excluded.updated_at`,
    )
    .run(HEARTBEAT_ROW, now, now);
}

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
      beat(sqlite, now());
    } catch (err) {
      onError(err);
    }
  };
  tick();
  const timer = setInterval(tick, seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
