import type { Command } from 'commander';
import type { Env } from '../shared/env';
import type { Output } from './output';

/** What every command gets: where to write, the environment, the clock, and the exit status. */
export interface CliContext {
  readonly out: Output;
  /** The process environment as given (the env file is read only where a command needs it). */
  readonly env: Env;
  readonly now: () => number;
  /** The exit code once the command returns; commands raise it to report a problem. */
  exitCode: number;
}

/** The global options, as every command sees them. */
export interface GlobalOptions {
  /** `--db PATH`: the database file instead of `TG_DB_PATH`. */
  readonly db?: string;
  /** `--json`: print JSON instead of tables. */
  readonly json: boolean;
}

/** Reads the global options from the command being run (they may appear after its name). */
export function globalOptions(command: Command): GlobalOptions {
  const opts = command.optsWithGlobals<{ db?: string; json?: boolean }>();
  return { db: opts.db, json: opts.json === true };
}
