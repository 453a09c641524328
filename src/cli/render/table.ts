import Table from 'cli-table3';
import type { Paint } from './colour';

// Borderless, like `kubectl get`: columns separated by two spaces, easy to read and to grep.
const CHARS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

/** A table with a header row; cells are strings or numbers, null shows as `-`. */
export function renderTable(
  head: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
  paint: Paint,
): string {
  const table = new Table({
    head: head.map((h) => paint.bold(h)),
    chars: CHARS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const row of rows) table.push(row.map((cell) => (cell === null ? '-' : String(cell))));
  // cli-table3 pads the last column too; trailing spaces only get in the way of diff and grep
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** Aligned `label  value` lines for one-record screens. */
export function renderFields(fields: readonly (readonly [string, string])[], paint: Paint): string {
  const width = Math.max(0, ...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${paint.dim(label.padEnd(width))}  ${value}`).join('\n');
}
