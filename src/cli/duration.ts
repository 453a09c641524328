// Durations as operators type them: `30s`, `15m`, `1h`, `7d`, `2w`, or combined (`1h30m`).

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

/** Parses a duration into ms; null when the text is not one. Pure. */
export function parseDuration(text: string): number | null {
  const input = text.trim().toLowerCase();
  if (input === '') return null;
  PART.lastIndex = 0;
  let total = 0;
  let match: RegExpExecArray | null;
  while ((match = PART.exec(input)) !== null) {
    total += Number(match[1]) * (UNIT_MS[match[2]!] ?? 0);
    if (PART.lastIndex === input.length) return Math.round(total);
  }
  return null;
}
