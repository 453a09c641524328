// Secrets must never reach a log line, an error stored in the database or CLI output. Known
// values are registered at start; the patterns also catch tokens we were never told about
// (a bot token is part of every Telegram URL, so any error that prints a URL carries it).
const secrets = new Set<string>();

const PATTERNS: readonly RegExp[] = [
  /\b\d{3,}:[A-Za-z0-9_-]{20,}\b/g, // Telegram bot token
  /\bsk-[A-Za-z0-9_-]{12,}\b/g, // OpenAI-style API key
  /(authorization:\s*bearer\s+)[^\s"',}]+/gi,
];

/** Remembers a secret value so that `redact` removes it wherever it appears. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) secrets.add(value);
}

/** Returns the text with every known secret and anything shaped like a token replaced. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  for (const pattern of PATTERNS) {
    out = out.replace(pattern, (_m, prefix: unknown) =>
      typeof prefix === 'string' ? `${prefix}[redacted]` : '[redacted]',
    );
  }
  return out;
}
