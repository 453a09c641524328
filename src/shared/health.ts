// How the worker's edges are doing, as the worker records it and `autonous status` reads it.
// Pure: `now` comes in; the record lives in kv (KV.ingressHealth, KV.modelHealth).

/** The health of one edge (polling Telegram, calling the model). */
export interface EdgeHealth {
  /** Last time it worked (ms), or null when it never has since this record began. */
  readonly lastOkAt: number | null;
  /** Since when it has been failing without a success (ms), or null when it works. */
  readonly failingSince: number | null;
  /** The last error, a secret-free sentence. */
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
}

export const UNKNOWN_HEALTH: EdgeHealth = {
  lastOkAt: null,
  failingSince: null,
  lastError: null,
  lastErrorAt: null,
};

// A working edge's record is refreshed at most this often: a write per poll would cost a
// transaction per batch for nothing
const REFRESH_OK_MS = 10_000;

/** The record after one more outcome, and whether it is worth writing. */
export function nextHealth(
  prev: EdgeHealth,
  result: { readonly ok: true } | { readonly ok: false; readonly error: string },
  now: number,
): { readonly health: EdgeHealth; readonly write: boolean } {
  if (result.ok) {
    const health = { ...prev, lastOkAt: now, failingSince: null };
    return {
      health,
      write: prev.failingSince !== null || prev.lastOkAt === null || now - prev.lastOkAt >= REFRESH_OK_MS,
    };
  }
  const health = {
    ...prev,
    failingSince: prev.failingSince ?? now,
    lastError: result.error,
    lastErrorAt: now,
  };
  return {
    health,
    write:
      prev.failingSince === null ||
      prev.lastError !== result.error ||
      now - (prev.lastErrorAt ?? 0) >= REFRESH_OK_MS,
  };
}

/** Parses a stored record; anything unreadable is unknown. */
export function parseHealth(value: string | undefined): EdgeHealth {
  if (value === undefined) return UNKNOWN_HEALTH;
  try {
    const parsed = JSON.parse(value) as Partial<EdgeHealth>;
    return {
      lastOkAt: typeof parsed.lastOkAt === 'number' ? parsed.lastOkAt : null,
      failingSince: typeof parsed.failingSince === 'number' ? parsed.failingSince : null,
      lastError: typeof parsed.lastError === 'string' ? parsed.lastError : null,
      lastErrorAt: typeof parsed.lastErrorAt === 'number' ? parsed.lastErrorAt : null,
    };
  } catch {
    return UNKNOWN_HEALTH;
  }
}
