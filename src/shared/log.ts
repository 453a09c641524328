import { redact } from './redact';
import { type ChoiceOf, WORKER_SETTINGS } from './settings';

export type LogLevel = ChoiceOf<'LOG_LEVEL'>;
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured fields of a log line; message text belongs at debug level only. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

function threshold(): number {
  const fallback: LogLevel = WORKER_SETTINGS.LOG_LEVEL.default;
  const level = (process.env.LOG_LEVEL ?? fallback) as LogLevel;
  return ORDER[level] ?? ORDER[fallback];
}

function format(level: LogLevel, component: string, msg: string, fields?: LogFields): string {
  let line = `${new Date().toISOString()} ${level.padEnd(5)} [${component}] ${msg}`;
  if (fields) {
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined)
        line += ` ${key}=${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
    }
  }
  return redact(line);
}

/** A logger for one component; every line goes through `redact` before it is written. */
export function createLogger(component: string): Logger {
  const min = threshold();
  const write = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (ORDER[level] < min) return;
    const line = format(level, component, msg, fields) + '\n';
    (level === 'warn' || level === 'error' ? process.stderr : process.stdout).write(line);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

/** A short, secret-free description of any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return redact(`${err.name}: ${err.message}`);
  return redact(String(err));
}
