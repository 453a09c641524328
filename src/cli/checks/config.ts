import { loadWorkerConfig, type WorkerConfig } from '../../shared/config';
import { ConfigError, type Env } from '../../shared/env';
import { type CheckResult, fail, ok } from './check';

/** The configuration as doctor sees it: every problem found, and a config to go on with. */
export interface ConfigReport {
  readonly errors: readonly ConfigError[];
  /** The configuration with the bad variables replaced by placeholders or defaults; null when even that fails. */
  readonly config: WorkerConfig | null;
  /** The variables that were missing or malformed. */
  readonly invalid: ReadonlySet<string>;
}

// Syntactically valid stand-ins for the required variables, so validation can go on past them.
// They are never used to call anything: the checks that need a variable skip when it is invalid.
const PLACEHOLDERS: Readonly<Record<string, string>> = {
  TELEGRAM_BOT_TOKEN: '0:placeholder',
  OPENAI_API_KEY: 'placeholder',
};

/**
 * Validates the worker's configuration and names every missing or malformed variable, not
 * only the first: `loadWorkerConfig` stops at the first one, so each bad variable is replaced
 * (a placeholder when required, else unset so its default applies) and validation runs again.
 */
export function collectConfigErrors(env: Env): ConfigReport {
  const patched: Record<string, string | undefined> = { ...env };
  const errors: ConfigError[] = [];
  for (;;) {
    try {
      const config = loadWorkerConfig(patched);
      return { errors, config, invalid: new Set(errors.map((e) => e.variable)) };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const again = errors.some((e) => e.variable === err.variable);
      if (!again) errors.push(err);
      if (again || patched[err.variable] === PLACEHOLDERS[err.variable]) {
        return { errors, config: null, invalid: new Set(errors.map((e) => e.variable)) };
      }
      patched[err.variable] = PLACEHOLDERS[err.variable];
    }
  }
}

/** The configuration check line. */
export function configCheck(report: ConfigReport): CheckResult {
  if (report.errors.length === 0) return ok('config', 'every worker variable is set and valid');
  const names = report.errors.map((e) => e.variable).join(', ');
  return fail(
    'config',
    `${report.errors.length === 1 ? 'a variable is' : 'variables are'} missing or malformed: ${names}`,
    report.errors.map((e) => e.message).join('\n'),
  );
}
