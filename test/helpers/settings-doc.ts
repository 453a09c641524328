/**
 * Compares a table of settings with the variable tables of a Markdown file (`| variable | default |
 * meaning |`), so the documentation cannot drift from the defaults and ranges the parsers use.
 */

/** One row of a variable table, its cells as written. */
export interface VariableRow {
  readonly line: number;
  readonly name: string;
  readonly default: string;
  readonly meaning: string;
}

/** What the check needs of a setting: its documented default and its range, if it has one. */
export interface DocumentedSetting {
  /** The default as the documentation should write it, after `normalise`. */
  readonly default: string;
  readonly min?: number;
  readonly max?: number;
}

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((cell) => cell.trim());
}

/** The rows of every table whose first header cell is `variable`, in the order they appear. */
export function variableRows(markdown: string): VariableRow[] {
  const rows: VariableRow[] = [];
  const lines = markdown.split('\n');
  let inTable = false;
  lines.forEach((text, index) => {
    if (!text.trim().startsWith('|')) {
      inTable = false;
      return;
    }
    const [first = '', second = '', third = ''] = cells(text);
    if (!inTable) {
      inTable = first.toLowerCase() === 'variable';
      return;
    }
    if (/^:?-+:?$/.test(first)) return;
    rows.push({ line: index + 1, name: first.replace(/`/g, ''), default: second, meaning: third });
  });
  return rows;
}

/**
 * A default cell as plain text: backticks and Markdown links dropped (a link becomes its text),
 * spaces collapsed.
 */
export function normalise(cell: string): string {
  return cell
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Whether a documented default says `expected`: exactly, or followed by a note (`0 (off)`,
 * `empty: nobody`, `— (required)`).
 */
function saysDefault(cell: string, expected: string): boolean {
  const text = normalise(cell);
  return text === expected || text.startsWith(`${expected} (`) || text.startsWith(`${expected}:`);
}

/**
 * Every difference between `settings` and the rows: a setting without a row, a row naming no
 * setting, a default that differs, a range written `a-b` in the meaning that is not the setting's.
 * Empty when they agree.
 */
export function settingsDocMismatches(
  settings: Readonly<Record<string, DocumentedSetting>>,
  rows: readonly VariableRow[],
  file: string,
): string[] {
  const mismatches: string[] = [];
  const documented = new Set(rows.map((row) => row.name));
  for (const name of Object.keys(settings)) {
    if (!documented.has(name)) mismatches.push(`${name}: no row in ${file}`);
  }
  const seen = new Set<string>();
  for (const row of rows) {
    const where = `${file}:${row.line}`;
    const setting = settings[row.name];
    if (seen.has(row.name)) mismatches.push(`${row.name}: a second row at ${where}`);
    seen.add(row.name);
    if (setting === undefined) {
      mismatches.push(`${row.name}: the row at ${where} names no known variable`);
      continue;
    }
    if (!saysDefault(row.default, setting.default)) {
      mismatches.push(
        `${row.name}: ${where} gives the default "${normalise(row.default)}", the settings "${setting.default}"`,
      );
    }
    for (const [, from, to] of row.meaning.matchAll(/(?<![\d.])(\d+)-(\d+)(?![\d.])/g)) {
      if (Number(from) !== setting.min || Number(to) !== setting.max) {
        mismatches.push(
          `${row.name}: ${where} gives the range ${from}-${to}, the settings ${setting.min ?? '?'}-${setting.max ?? '?'}`,
        );
      }
    }
  }
  return mismatches;
}
