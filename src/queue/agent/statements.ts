import type Database from 'better-sqlite3';

// Statements prepared once per connection: the agent's journal writes on every step, and
// preparing parses the SQL each time. Keyed by the connection so a closed one's go with it.
const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** The statement for `sql` on this connection, prepared on first use. */
export function prepared(sqlite: Database.Database, sql: string): Database.Statement {
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
  return statement;
}
