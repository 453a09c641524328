/** A real SQLite file with the real migrations, in a fresh temporary folder per test. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type DbHandle, type OpenOptions } from '../../src/db/open';

/** An open temporary database and the folder that holds it (pass it to `removeTempDir`). */
export type TempDb = DbHandle & { readonly dir: string };

/** A database file path inside a new, empty `autonous-test-*` folder; the file itself is not created. */
export function tempDbPath(prefix = 'autonous'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-test-'));
  return path.join(dir, `${prefix}.sqlite`);
}

/** Opens (and migrates) a new database in its own temporary folder. */
export function openTempDb(options: OpenOptions = {}): TempDb {
  const file = tempDbPath();
  const handle = openDatabase(file, options);
  return Object.assign(handle, { dir: path.dirname(file) });
}

/** Deletes a temporary folder and everything in it (the -wal and -shm files too); missing is fine. */
export function removeTempDir(dir: string): void {
  // Guard against a test passing the wrong path: only our own temp folders are ever deleted.
  if (!path.basename(dir).startsWith('autonous-test-'))
    throw new Error(`refusing to delete ${dir}: not a temp folder`);
  fs.rmSync(dir, { recursive: true, force: true });
}
