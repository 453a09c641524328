import type Database from 'better-sqlite3';

// better-sqlite3 compiles a statement on every `prepare`; on a hot path that is most of the cost of
// a short query. Each connection keeps its statements here, keyed by their SQL text, for as long
// as the connection lives (a WeakMap: a dropped connection takes its cache with it).
const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/**
 * The statement for `sql` on this connection, prepared on first use and reused after. Pass the
 * SQL as a constant (parameters as `?` or `@name`), never text built from values.
 */
export function prepared<P extends unknown[] | object = unknown[], R = unknown>(
  sqlite: Database.Database,
  sql: string,
): Database.Statement<P, R> {
  let statements = cache.get(sqlite);
  if (statements === undefined) {
    statements = new Map();
    cache.set(sqlite, statements);
  }
  let statement = statements.get(sql);
  if (statement === undefined) {
    statement = sqlite.prepare(sql);
    statements.set(sql, statement);
  }
  return statement as unknown as Database.Statement<P, R>;
}
