import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type * as Schema from './schema';

export type Db = BetterSQLite3Database<typeof Schema>;

/** An open database: the drizzle handle and the raw connection for hot-path statements. */
export interface DbHandle {
  readonly db: Db;
  readonly sqlite: Database.Database;
  readonly path: string;
  close(): void;
}

export interface OpenOptions {
  /** Apply pending migrations (default true). The CLI's read-only checks pass false. */
  readonly migrate?: boolean;
  readonly readonly?: boolean;
  /** How long a statement waits for another process's lock (default 5000 ms). */
  readonly busyTimeoutMs?: number;
}

/** The SQL migrations shipped beside the compiled code (`drizzle/` at the package root). */
export const MIGRATIONS_FOLDER = path.resolve(__dirname, '..', '..', 'drizzle');

/**
 * Opens (and creates) the database with the pragmas every process relies on: WAL so readers
 * never block the writer, a busy timeout so concurrent writers wait instead of failing, foreign
 * keys on. The folder and the file are created readable by their owner only.
 */
export function openDatabase(file: string, options: OpenOptions = {}): DbHandle {
  const readonly = options.readonly ?? false;
  if (!readonly) {
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!fs.existsSync(file)) fs.closeSync(fs.openSync(file, 'a', 0o600));
  }
  const sqlite = new Database(file, { readonly, fileMustExist: readonly });
  try {
    sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    if (!readonly) {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
    }
    sqlite.pragma('foreign_keys = ON');
    if (!readonly && options.migrate !== false) migrate(sqlite);
  } catch (err) {
    sqlite.close();
    throw err;
  }
  let db: Db | undefined;
  return {
    // drizzle and the schema load on first use: the CLI's hot paths run raw statements and
    // start faster without them
    get db(): Db {
      return (db ??= loadDrizzle(sqlite));
    },
    sqlite,
    path: file,
    close: () => sqlite.close(),
  };
}

function loadDrizzle(sqlite: Database.Database): Db {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { drizzle } = require('drizzle-orm/better-sqlite3') as typeof import('drizzle-orm/better-sqlite3');
  const schema = require('./schema') as typeof Schema;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return drizzle(sqlite, { schema });
}

const MIGRATIONS_TABLE = '__drizzle_migrations';

/** One entry of drizzle-kit's `meta/_journal.json`: a migration file and when it was generated. */
interface JournalEntry {
  readonly tag: string;
  readonly when: number;
}

/** The shipped migrations, oldest first, as drizzle-kit's journal lists them. */
function readJournal(folder: string): readonly JournalEntry[] {
  const file = path.join(folder, 'meta', '_journal.json');
  if (!fs.existsSync(file)) throw new Error(`Can't find meta/_journal.json file in ${folder}.`);
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: JournalEntry[] }).entries;
}

/**
 * One migration's statements and hash, as drizzle's migrator computes them. Read only when it is
 * about to be applied: hashing loads OpenSSL, which a process that finds its database up to date
 * (every start but the first) then never pays for in memory.
 */
function readMigration(folder: string, entry: JournalEntry): { sql: string[]; hash: string } {
  const file = path.join(folder, `${entry.tag}.sql`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`No file ${file} found in ${folder} folder`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return {
    sql: text.split('--> statement-breakpoint'),
    hash: createHash('sha256').update(text).digest('hex'),
  };
}

/**
 * Applies drizzle-kit's migrations under one `BEGIN IMMEDIATE`. drizzle's own migrator reads the
 * applied list before it takes the write lock, so two processes starting at once would both try
 * the same migration; here the read and the writes happen under the same lock, and the second
 * process finds nothing left to do. The bookkeeping table is drizzle's, so drizzle-kit agrees.
 */
export function migrate(sqlite: Database.Database, folder: string = MIGRATIONS_FOLDER): number {
  const journal = readJournal(folder);
  const run = sqlite.transaction(() => {
    sqlite.exec(
      `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (id INTEGER PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
    );
    const last = sqlite
      .prepare(`SELECT created_at FROM "${MIGRATIONS_TABLE}" ORDER BY created_at DESC LIMIT 1`)
      .get() as { created_at: number } | undefined;
    let applied = 0;
    for (const entry of journal) {
      if (last && Number(last.created_at) >= entry.when) continue;
      const migration = readMigration(folder, entry);
      for (const statement of migration.sql) if (statement.trim() !== '') sqlite.exec(statement);
      sqlite
        .prepare(`INSERT INTO "${MIGRATIONS_TABLE}" (hash, created_at) VALUES (?, ?)`)
        .run(migration.hash, entry.when);
      applied++;
    }
    return applied;
  });
  return run.immediate();
}

/** True when every shipped migration has been applied to this database. */
export function isMigrated(sqlite: Database.Database, folder: string = MIGRATIONS_FOLDER): boolean {
  const newest = readJournal(folder).at(-1)?.when ?? 0;
  try {
    const last = sqlite.prepare(`SELECT max(created_at) AS t FROM "${MIGRATIONS_TABLE}"`).get() as {
      t: number | null;
    };
    return Number(last.t ?? 0) >= newest;
  } catch {
    return false;
  }
}
