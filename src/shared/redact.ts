// Secrets must never reach a log line, an error stored in the database, CLI output, the model,
// the agent's journal or the chat (tool results, answers, cards, status messages, documents).
// Known values are registered at start; the patterns also catch tokens we were never told about
// (a bot token is part of every Telegram URL, so any error that prints a URL carries it).
const secrets = new Set<string>();
// Longest first: a token is replaced whole before its secret half could be, leaving no bot id
// glued to a `[redacted]`.
let secretsByLength: readonly string[] = [];

/** What replaces a secret. */
export const REDACTED = '[redacted]';

// Where a token may start: not inside a word (a `sha256:` digest is no token), right after an
// escape such as `\n` or `\u001b` in JSON or shell text, or after the `bot` of a Bot API URL.
// `\b` alone missed those: in `\n123:…` the `n1` is no word boundary, so a token on its own
// line leaked from `runs show --json`.
const START = String.raw`(?:(?<![A-Za-z0-9_])|(?<=\\[bfnrt]|\\u[0-9A-Fa-f]{4}|bot))`;
const MIN_SECRET_CHARS = 6;

const PATTERNS: readonly RegExp[] = [
  new RegExp(String.raw`${START}\d{3,}:[A-Za-z0-9_-]{20,}`, 'g'), // Telegram bot token
  new RegExp(String.raw`${START}sk-[A-Za-z0-9_-]{12,}`, 'g'), // OpenAI-style API key
  /(authorization:\s*bearer\s+)[^\s"',}]+/gi,
];

/**
 * The value and those of its parts that are secrets on their own: a bot token's half after the
 * `:` (its bot id is public, its second half is the secret) and an API key's body without `sk-`.
 */
export function secretParts(value: string): string[] {
  const parts = [value];
  const token = /^\d+:(.+)$/.exec(value);
  if (token) parts.push(token[1]!);
  if (value.startsWith('sk-')) parts.push(value.slice('sk-'.length));
  return parts.filter((part) => part.length >= MIN_SECRET_CHARS);
}

/** Remembers a secret value (and its secret parts) so that `redact` removes it wherever it appears. */
export function registerSecret(value: string | undefined): void {
  if (!value) return;
  for (const part of secretParts(value)) secrets.add(part);
  secretsByLength = [...secrets].sort((a, b) => b.length - a.length);
}

/** Returns the text with every known secret and anything shaped like a token replaced. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secretsByLength) out = out.split(secret).join(REDACTED);
  for (const pattern of PATTERNS) {
    out = out.replace(pattern, (_m, prefix: unknown) =>
      typeof prefix === 'string' ? `${prefix}${REDACTED}` : REDACTED,
    );
  }
  return out;
}

/**
 * A JSON-like value with every string in it (keys too) redacted: for output that is encoded
 * afterwards, since an encoding (JSON's `\n`) can hide a token from the patterns.
 */
export function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactValue(v)]));
  }
  return value;
}

/**
 * A file's bytes with secrets replaced, and whether any was. Read as latin1 (one character per
 * byte) so that every other byte, of a binary file too, comes back unchanged; secrets are ASCII.
 */
export function redactBytes(bytes: Uint8Array): { readonly bytes: Buffer; readonly redacted: boolean } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buffer.toString('latin1');
  const out = redact(text);
  return out === text
    ? { bytes: buffer, redacted: false }
    : { bytes: Buffer.from(out, 'latin1'), redacted: true };
}
