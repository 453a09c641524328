// What a self-release may not change, decided before anything is built and again by the judge
// (the supervisor) on what was built. Pure functions of file names and SQL, plus one reader.
//
// Revisions share the checkout's node_modules, so a changed package.json or lock file would run
// against packages it was not written for. The supervisor and the release machinery judge a
// release, so a release they judge never replaces them: they change when the operator restarts
// them. An automatic rollback keeps the newer schema, so a migration may only add.
import fs from 'node:fs';
import path from 'node:path';

/** A path a self-release may not touch, and why, as a clause. */
interface ProtectedPath {
  /** A file, or a folder when it ends with `/`. */
  readonly path: string;
  readonly why: string;
}

const SHARED_PACKAGES = 'revisions share the checkout’s node_modules: change packages on the host';
const JUDGE =
  'the supervisor and the release machinery judge a release and are never replaced by one: the operator changes them and restarts them';

/** What a self-release may not change. */
export const PROTECTED_PATHS: readonly ProtectedPath[] = [
  { path: 'package.json', why: SHARED_PACKAGES },
  { path: 'package-lock.json', why: SHARED_PACKAGES },
  { path: 'npm-shrinkwrap.json', why: SHARED_PACKAGES },
  { path: 'ecosystem.config.cjs', why: JUDGE },
  { path: 'src/supervisor-hooks/', why: JUDGE },
  { path: 'src/self-release/', why: JUDGE },
  { path: 'src/cli/commands/revisions.ts', why: JUDGE },
  { path: 'src/cli/render/revisions.ts', why: JUDGE },
  { path: 'src/cli/commands/supervisor.ts', why: JUDGE },
];

/** The built folders of the judge's code, which must be the running revision's byte for byte. */
export const PROTECTED_BUILD_DIRS: readonly string[] = ['supervisor-hooks', 'self-release'];

/** Why a change to `files` (paths relative to the repository, `/`-separated) is refused, or null. */
export function protectedChange(files: readonly string[]): string | null {
  for (const file of files) {
    const hit = PROTECTED_PATHS.find((p) =>
      p.path.endsWith('/') ? file.startsWith(p.path) : file === p.path,
    );
    if (hit) return `it changes ${file}, and ${hit.why}`;
  }
  return null;
}

// A statement that takes away what the running revision reads: a table or column dropped or
// renamed (drizzle rebuilds a table for most column changes: a new table, a copy, DROP TABLE),
// or a view or trigger dropped. Comments and string literals are removed before matching.
const DESTRUCTIVE: readonly [RegExp, string][] = [
  [/\bDROP\s+TABLE\b/i, 'drops a table'],
  [/\bDROP\s+COLUMN\b/i, 'drops a column'],
  [/\bRENAME\s+(COLUMN\b|TO\b)/i, 'renames a table or column'],
  [/\bALTER\s+TABLE\s+\S+\s+RENAME\b/i, 'renames a table or column'],
  [/\bDROP\s+(VIEW|TRIGGER)\b/i, 'drops a view or trigger'],
  [/\bDELETE\s+FROM\b/i, 'deletes rows'],
];

/** Why a migration's SQL would break the running revision, or null when it only adds. */
export function destructiveStatement(sql: string): string | null {
  const bare = sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''");
  for (const [pattern, what] of DESTRUCTIVE) if (pattern.test(bare)) return what;
  return null;
}

/**
 * Why the migrations `after` (name → SQL) cannot follow `before`, or null: every migration the
 * running revision has must be there unchanged (migrations are never edited once released), and
 * every new one may only add.
 */
export function migrationChange(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): string | null {
  for (const [name, sql] of before) {
    const now = after.get(name);
    if (now === undefined) return `it removes the migration drizzle/${name}, which the database has applied`;
    if (now !== sql) return `it edits the migration drizzle/${name}, which the database has applied`;
  }
  for (const [name, sql] of after) {
    if (before.has(name)) continue;
    const what = destructiveStatement(sql);
    if (what !== null)
      return `its new migration drizzle/${name} ${what}, which the running revision uses (a rollback keeps the newer schema)`;
  }
  return null;
}

/** The SQL migrations of a drizzle folder, by file name (empty when there is none). */
export function readMigrations(drizzleDir: string): Map<string, string> {
  const found = new Map<string, string>();
  let names: string[];
  try {
    names = fs.readdirSync(drizzleDir);
  } catch {
    return found;
  }
  for (const name of names.filter((n) => n.endsWith('.sql')).sort()) {
    found.set(name, fs.readFileSync(path.join(drizzleDir, name), 'utf8'));
  }
  return found;
}

/** The new migrations of `after` that `before` does not have, by name. */
export function newMigrations(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): string[] {
  return [...after.keys()].filter((name) => !before.has(name));
}
