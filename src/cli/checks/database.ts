import fs from 'node:fs';
import path from 'node:path';
import { isMigrated, openDatabase, type DbHandle } from '../../db/open';
import { type CheckResult, fail, messageOf, ok, warn } from './check';

const NAME = 'database';

/** Opens, migrated, writable, WAL, `PRAGMA integrity_check`: the database check line. */
export function checkDatabase(file: string): CheckResult {
  if (!fs.existsSync(file)) {
    return fail(
      NAME,
      `there is no database at ${file}`,
      'Start the worker once (npm start) to create it, or set TG_DB_PATH.',
    );
  }
  let handle: DbHandle;
  try {
    handle = openDatabase(file, { migrate: false });
  } catch (err) {
    return fail(
      NAME,
      `${file} does not open: ${messageOf(err)}`,
      'Check that the file is an SQLite database and readable.',
    );
  }
  try {
    if (!isMigrated(handle.sqlite)) {
      return fail(
        NAME,
        `${file} is not migrated to this version`,
        'Restart the worker (pm2 restart autonous-worker): it applies the migrations at start.',
      );
    }
    try {
      fs.accessSync(file, fs.constants.W_OK);
      fs.accessSync(path.dirname(file), fs.constants.W_OK);
      // Takes and releases the write lock: proves the file is writable now, changes nothing.
      handle.sqlite.exec('BEGIN IMMEDIATE; ROLLBACK;');
    } catch (err) {
      return fail(
        NAME,
        `${file} is not writable: ${messageOf(err)}`,
        'Give the user that runs autonous write access to the file and its folder.',
      );
    }
    const integrity = handle.sqlite.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') {
      return fail(
        NAME,
        `${file} failed the integrity check: ${String(integrity)}`,
        'Stop the apps, restore a backup or recover with `sqlite3 .recover`.',
      );
    }
    const mode = String(handle.sqlite.pragma('journal_mode', { simple: true }));
    if (mode !== 'wal') {
      return warn(
        NAME,
        `${file}: journal mode is ${mode}, not wal`,
        'Start the worker once: it switches the file to WAL.',
      );
    }
    return ok(NAME, `${file}: migrated, writable, integrity ok`);
  } finally {
    handle.close();
  }
}
