// Cell text: one line, cut to a width, so a long message or error never breaks a table.
import { escapeHidden } from '../../shared/escape-text';

/**
 * The text on one line (newlines and tabs as spaces), control and format characters escaped (a
 * command's output must not drive the terminal), cut to `max` characters with an ellipsis.
 */
export function cut(text: string | null | undefined, max: number): string {
  if (text === null || text === undefined) return '';
  const line = escapeHidden(text.replace(/\s+/g, ' ').trim());
  if (line.length <= max) return line;
  // Do not split a surrogate pair: step back one when the cut lands between its halves.
  let end = Math.max(1, max - 1);
  const code = line.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${line.slice(0, end)}…`;
}
