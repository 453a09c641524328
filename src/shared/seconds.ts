// Durations for a person to read: a status line, a log line, a tool's result. Pure.

/**
 * `ms` as "14 s", or "2 min 5 s" from two minutes on. `precise` keeps a tenth of a second under
 * 10 s ("0.3 s", "2.5 s"), for time limits and durations that short ones are compared with.
 */
export function seconds(ms: number, precise = false): string {
  const abs = Math.max(0, ms);
  if (precise && abs < 9950) return `${Number((abs / 1000).toFixed(1))} s`;
  const s = Math.round(abs / 1000);
  if (s < 120) return `${s} s`;
  return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
