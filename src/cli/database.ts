import fs from 'node:fs';
import path from 'node:path';
import { openDatabase, type DbHandle } from '../db/open';
import { dbPath, loadEnvironment, type Env } from '../shared/env';
import { CliError } from './errors';

/**
 * The database file the CLI works on: `--db`, else the worker's `TG_DB_PATH` (from the
 * environment or the env file). Only the two names that locate the file are read from the env
 * file, so the CLI never holds a secret it does not need.
 */
export function resolveDbPath(flag: string | undefined, env: Env): string {
  if (flag !== undefined && flag.trim() !== '') return path.resolve(flag);
  return dbPath(loadEnvironment(env, (name) => name === 'TG_DB_PATH' || name === 'AUTONOUS_HOME'));
}

/**
 * Opens an existing database without migrating it: migrating is the worker's job (an older
 * worker may still be running against it). A missing file is an error, never created here.
 * WAL and the busy timeout let this run beside the worker without "database is locked".
 */
export function openExisting(file: string): DbHandle {
  if (!fs.existsSync(file)) {
    throw new CliError(
      `There is no database at ${file}: start the worker once (npm start), or point --db or TG_DB_PATH at the file.`,
    );
  }
  return openDatabase(file, { migrate: false });
}

/** Runs `work` with the database open, and closes it whatever happens. */
export function withDatabase<T>(file: string, work: (handle: DbHandle) => T): T {
  const handle = openExisting(file);
  try {
    return work(handle);
  } finally {
    handle.close();
  }
}
