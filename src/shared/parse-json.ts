// Reading JSON that we stored or that a model wrote, where a text that does not parse is not an
// error worth stopping for: whoever shows it falls back to something sensible. Pure.

/** The parsed value of `text`, or `fallback` when `text` is null, undefined or not JSON. */
export function parseJsonOr<T>(text: string | null | undefined, fallback: T): unknown {
  if (text === null || text === undefined) return fallback;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fallback;
  }
}
