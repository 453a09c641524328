// Pure decisions about the queue: no I/O, `now` and randomness come in as arguments.

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseSeconds: number;
  readonly maxSeconds: number;
}

/**
 * Delay before the next attempt, in ms: min(max, base × 2^(attempt−1)) with ±20 % jitter, or the
 * remote's own `retry_after` when it gave one (never less than it asked for).
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: number,
  retryAfterMs?: number,
): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.ceil(retryAfterMs);
  const exp = Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** Math.max(0, attempt - 1));
  const jitter = 0.8 + 0.4 * random;
  return Math.round(Math.min(policy.maxSeconds, exp * jitter) * 1000);
}

/** What happens to an item after a failed attempt. */
export type FailureFate =
  { readonly status: 'failed'; readonly availableAt: number } | { readonly status: 'dead' };

/** A permanent error, or the last allowed attempt, is dead; anything else is retried later. */
export function decideFailure(
  policy: RetryPolicy,
  attempts: number,
  permanent: boolean,
  now: number,
  random: number,
  retryAfterMs?: number,
): FailureFate {
  if (permanent || attempts >= policy.maxAttempts) return { status: 'dead' };
  return { status: 'failed', availableAt: now + retryDelayMs(policy, attempts, random, retryAfterMs) };
}

/** Cold start: which pending updates to skip, and why (null keeps the update). */
export function coldStartSkipReason(
  sentAtMs: number | null,
  rankFromNewest: number,
  now: number,
  windowSeconds: number,
  maxMessages: number,
): string | null {
  if (sentAtMs !== null && now - sentAtMs > windowSeconds * 1000) {
    return `cold start: older than TG_PENDING_WINDOW_SECONDS (${windowSeconds}s)`;
  }
  if (rankFromNewest >= maxMessages) {
    return `cold start: beyond the newest TG_PENDING_MAX_MESSAGES (${maxMessages})`;
  }
  return null;
}
