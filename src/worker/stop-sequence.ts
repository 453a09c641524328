// The graceful stop of the worker, in the order that loses nothing: no new polls or claims, the
// work in flight given the grace, a notice under way let finish within the same grace, then the
// metrics, the heartbeat and the database.

import type { Logger } from '../shared/log';

/** What the stop ends, in its order. */
export interface StopParts {
  /** Aborts ingress's polling. */
  readonly polling: AbortController;
  /** Settles when polling has ended. */
  readonly polled: Promise<unknown>;
  /** The scheduler and the sweeper. */
  readonly loops: { stop(graceMs: number): Promise<void> };
  /** The rollback announcement, which may be sending a notice. */
  readonly announcement: { readonly done: Promise<unknown>; abort(): void };
  /** Tells chats of their releases' steps; stopped with the loops (a send under way finishes). */
  readonly releases?: { stop(): Promise<void> };
  /** Unpublishes the figures and closes the `/metrics` endpoint. */
  readonly metrics: { stop(): Promise<void> };
  readonly stopHeartbeat: () => void;
  readonly db: { close(): void };
  readonly log: Logger;
}

/** The worker's `stop(graceMs)`; a second call (a signal during a stop) waits for the first. */
export function stopSequence(parts: StopParts): (graceMs?: number) => Promise<void> {
  let stopping: Promise<void> | undefined;
  return (graceMs = 8000) =>
    (stopping ??= (async () => {
      const deadline = Date.now() + graceMs;
      parts.polling.abort();
      await Promise.all([parts.loops.stop(graceMs), parts.releases?.stop()]);
      await parts.polled.catch(() => undefined);
      // the same grace as the scheduler's, not another one on top: PM2's kill_timeout is fixed
      const timer = setTimeout(() => parts.announcement.abort(), Math.max(0, deadline - Date.now()));
      await parts.announcement.done;
      clearTimeout(timer);
      await parts.metrics.stop();
      parts.stopHeartbeat();
      parts.db.close();
      parts.log.info('worker stopped');
    })());
}
