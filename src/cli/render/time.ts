// Human times: "3m ago", "in 20s", "1h 5m", "850ms". Pure: `now` is an argument.

const UNITS: readonly (readonly [string, number])[] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** A duration in its largest unit and, when useful, the next one: `2d 3h`, `5m`, `12s`, `850ms`. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)}ms`;
  for (let i = 0; i < UNITS.length; i++) {
    const [unit, size] = UNITS[i]!;
    if (abs >= size) {
      const whole = Math.floor(abs / size);
      const next = UNITS[i + 1];
      const rest = next && whole < 10 ? Math.floor((abs - whole * size) / next[1]) : 0;
      return rest > 0 && next ? `${whole}${unit} ${rest}${next[0]}` : `${whole}${unit}`;
    }
  }
  return `${Math.round(abs)}ms`;
}

/** How long ago `at` was: "3m ago", "just now"; a time in the future reads "in 3m". */
export function formatAge(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return '-';
  const delta = now - at;
  if (Math.abs(delta) < 1000) return 'just now';
  return delta > 0 ? `${shortDuration(delta)} ago` : `in ${shortDuration(-delta)}`;
}

/** When an item will be tried next: "now" once due, "in 3m" before. */
export function formatDue(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return '-';
  return at <= now ? 'now' : `in ${shortDuration(at - now)}`;
}

/** One unit only, for ages in tables: `3m`, `2h`, `5d`. */
function shortDuration(ms: number): string {
  for (const [unit, size] of UNITS) if (ms >= size) return `${Math.floor(ms / size)}${unit}`;
  return `${Math.round(ms)}ms`;
}

/** A time as ISO 8601 (UTC), or `-`. */
export function formatTime(at: number | null | undefined): string {
  return at === null || at === undefined ? '-' : new Date(at).toISOString();
}
