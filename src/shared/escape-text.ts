// Text from the model or from a command, made safe to show to a person: characters that display
// as something else or as nothing are written as escapes. C0/C1 controls move a terminal's
// cursor, clear its screen or retitle it; format characters (Unicode Cf: bidi overrides and
// isolates, zero-width spaces and joiners, tags) make a command read differently from what runs
// ("Trojan Source"); the line and paragraph separators break a line where none shows. Newline,
// tab and a carriage return before a newline (a Windows line end) are kept: they are what they
// look like; a carriage return alone sends a terminal back over what it just printed. Pure.

// `u` flag: \p{Cf} and astral format characters (tags, U+E0001…) are matched as code points
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HIDDEN = /\r(?!\n)|[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029\p{Cf}\p{Cs}]/gu;
const HIDDEN_ONE = new RegExp(HIDDEN.source, 'u');

function hex(code: number, width: number): string {
  return code.toString(16).toUpperCase().padStart(width, '0');
}

/** One character as an escape: `\x1B` up to U+00FF, `\u202E` in the BMP, `\u{E0041}` above it. */
function escapeOne(char: string): string {
  const code = char.codePointAt(0)!;
  if (code <= 0xff) return `\\x${hex(code, 2)}`;
  if (code <= 0xffff) return `\\u${hex(code, 4)}`;
  return `\\u{${hex(code, 1)}}`;
}

/** The text with every control, format (Cf), bidi and separator character escaped; `\n`, `\t`, `\r\n` kept. */
export function escapeHidden(text: string): string {
  return text.replace(HIDDEN, escapeOne);
}

/** Whether the text holds a character that `escapeHidden` would escape. */
export function hasHidden(text: string): boolean {
  return HIDDEN_ONE.test(text);
}

/** Whether any string in a JSON-like value (keys too) holds a character `escapeHidden` would escape. */
export function holdsHidden(value: unknown): boolean {
  if (typeof value === 'string') return hasHidden(value);
  if (Array.isArray(value)) return value.some(holdsHidden);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([key, v]) => hasHidden(key) || holdsHidden(v));
  }
  return false;
}

/**
 * JSON text with every hidden character that JSON leaves as it is (C1 controls, Cf, separators)
 * written as a `\uXXXX` escape: it parses to the same value, and a terminal shows the escape.
 */
export function escapeHiddenJson(json: string): string {
  // outside its strings JSON text is ASCII, so any match is inside a string, where `\u` is valid
  return json.replace(HIDDEN, (char) =>
    Array.from({ length: char.length }, (_, i) => `\\u${hex(char.charCodeAt(i), 4)}`).join(''),
  );
}
