// When the approval sweeper wakes next. Pure: `now` is an argument.

/**
 * Milliseconds until the sweeper should look again: at the next pending approval's expiry (at
 * once when it is past), never later than `maxWaitMs` (approvals asked by another process, or
 * whose poke was missed, are found that way).
 */
export function nextSweepDelay(nextExpiry: number | undefined, now: number, maxWaitMs: number): number {
  if (nextExpiry === undefined) return maxWaitMs;
  return Math.min(maxWaitMs, Math.max(0, nextExpiry - now));
}
