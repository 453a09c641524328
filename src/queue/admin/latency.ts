// Pure summaries of durations; no I/O.

/** p50, p95 and max of a set of durations (ms); nulls when there are none. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly max: number | null;
}

/** The nearest-rank percentile `p` (0–100] of values sorted ascending. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** Summarises durations given in any order. */
export function summariseLatencies(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    max: sorted.at(-1) ?? null,
  };
}

/** The share of finished items that ended dead, 0–1; null when nothing finished. */
export function errorRate(done: number, dead: number): number | null {
  const finished = done + dead;
  return finished === 0 ? null : dead / finished;
}
