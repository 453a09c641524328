/** Polling for the fakes and the PM2 sandbox: conditions they cannot signal as events. */

/**
 * Resolves once `predicate` holds, checking every 15 ms; rejects with `describe()` after `timeoutMs`.
 * A predicate that throws rejects at once, so a broken assertion is not mistaken for a timeout.
 */
export function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string | Promise<string>,
  intervalMs = 15,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = async (): Promise<void> => {
      if (await predicate()) return resolve();
      if (Date.now() >= deadline) return reject(new Error(await describe()));
      setTimeout(() => void tick().catch(reject), intervalMs);
    };
    tick().catch(reject);
  });
}

/**
 * Waits `ms` with a timer kept in `timers`, so a fake's close() can clear every pending wait
 * and no timer outlives its server.
 */
export function trackedSleep(timers: Set<NodeJS.Timeout>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      resolve();
    }, ms);
    timers.add(timer);
  });
}
