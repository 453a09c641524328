import type Database from 'better-sqlite3';

// Statements are compiled once per connection and reused: preparing costs more than running
// most of our statements, and the hot path (claim, settle) runs them for every message.
const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** The statement for `sql` on this connection, prepared on first use. */
export function prepared(sqlite: Database.Database, sql: string): Database.Statement {
  let statements = cache.get(sqlite);
  if (!statements) cache.set(sqlite, (statements = new Map()));
  let statement = statements.get(sql);
  if (!statement) statements.set(sql, (statement = sqlite.prepare(sql)));
  return statement;
}
