import type { CheckResult } from '../checks/check';
import type { Paint } from './colour';

/** `doctor --json` (see docs/cli.md, section doctor). */
export function doctorJson(checks: readonly CheckResult[]): { ok: boolean; checks: readonly CheckResult[] } {
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

/** One line per check, the fix indented below a check that is not ok. */
export function renderDoctor(checks: readonly CheckResult[], paint: Paint): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const mark = (c: CheckResult): string => {
    switch (c.status) {
      case 'ok':
        return paint.green('✓');
      case 'warn':
        return paint.yellow('!');
      case 'fail':
        return paint.red('✗');
      case 'skip':
        return paint.dim('-');
    }
  };
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${mark(c)} ${c.name.padEnd(width)}  ${c.detail}`);
    const pad = `  ${' '.repeat(width)}  `;
    if (c.fix !== null)
      c.fix
        .split('\n')
        .forEach((fix, i) => lines.push(`${pad}${i === 0 ? paint.dim('fix:') : '    '} ${fix}`));
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  lines.push(
    '',
    failed === 0
      ? paint.green('All checks passed.')
      : paint.red(`${failed} of ${checks.length} checks failed.`),
  );
  return lines.join('\n');
}
