// Cell text: one line, cut to a width, so a long message or error never breaks a table.
import { cut as cutText } from '../../shared/cut';
import { escapeHidden } from '../../shared/escape-text';

/**
 * The text on one line (newlines and tabs as spaces), control and format characters escaped (a
 * command's output must not drive the terminal), cut to `max` characters with an ellipsis.
 */
export function cut(text: string | null | undefined, max: number): string {
  if (text === null || text === undefined) return '';
  return cutText(escapeHidden(text.replace(/\s+/g, ' ').trim()), Math.max(2, max));
}
