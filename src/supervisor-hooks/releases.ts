// The releases folder on disk: one immutable snapshot per revision and the `current` link that
// the worker's PM2 app runs through.
//
//   <releases>/current -> r3-1a2b3c4       (relative symlink, re-pointed atomically)
//   <releases>/r3-1a2b3c4/dist/**          (the built worker, read-only files)
//   <releases>/r3-1a2b3c4/drizzle/**       (its migrations: dist/db/open.js looks two folders up)
//   <releases>/node_modules -> <home>/node_modules   (only when the folder is outside the project)
//   <releases>/r3-1a2b3c4.pre-migrate.db  (the database as it was before r3's new migrations)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REVISION_ID } from '../shared/contracts';

/** The name of the link that PM2's worker app runs through. */
export const CURRENT = 'current';
const ID = REVISION_ID;

/** True for a revision id (`r<sequence>-<7 hex of the content hash>`). */
export function isRevisionId(value: string): boolean {
  return ID.test(value);
}

/** The worker's script through the link: what `ecosystem.config.cjs` gives PM2. */
export function workerScriptPath(releasesDir: string): string {
  return path.join(releasesDir, CURRENT, 'dist', 'worker', 'main.js');
}

/** A revision's folder. */
export function revisionPath(releasesDir: string, id: string): string {
  return path.join(releasesDir, id);
}

/**
 * Where the copy of the database taken before a revision's new migrations goes: beside the
 * revision's folder, not in it (the folder is immutable and hashed), and gone with it.
 */
export function preMigrateCopyPath(releasesDir: string, id: string): string {
  return path.join(releasesDir, `${id}.pre-migrate.db`);
}

/** True when the revision's folder holds a runnable worker. */
export function revisionAvailable(releasesDir: string, id: string): boolean {
  return fs.existsSync(path.join(revisionPath(releasesDir, id), 'dist', 'worker', 'main.js'));
}

/** Where `current` points. */
export interface CurrentTarget {
  /** The absolute target. */
  readonly target: string;
  /** The revision id when the target is a revision folder here; null for anything else (the project). */
  readonly revision: string | null;
}

/** Reads the `current` link; null when there is none. */
export function readCurrent(releasesDir: string): CurrentTarget | null {
  const link = path.join(releasesDir, CURRENT);
  let target: string;
  try {
    target = fs.readlinkSync(link);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'EINVAL')
      throw new Error(`${link} is not a symbolic link: move it away so that it can be re-created.`);
    throw err;
  }
  const absolute = path.resolve(releasesDir, target);
  const name = path.basename(absolute);
  const inside = path.dirname(absolute) === path.resolve(releasesDir);
  return { target: absolute, revision: inside && isRevisionId(name) ? name : null };
}

/**
 * Points `current` at a revision (or, for the bootstrap, at any folder) atomically: a new link
 * is made under a temporary name and renamed over the old one, so a process that starts at any
 * instant finds either the old or the new target, never none.
 */
export function pointCurrentAt(releasesDir: string, target: string): void {
  const relative = isRevisionId(target) ? target : path.resolve(target);
  const temp = path.join(releasesDir, `.${CURRENT}-${process.pid}-${tempSuffix()}`);
  fs.symlinkSync(relative, temp);
  try {
    fs.renameSync(temp, path.join(releasesDir, CURRENT));
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}

/**
 * Creates the releases folder. Node finds a snapshot's packages by walking up from it: under the
 * project that reaches the project's node_modules; elsewhere a `node_modules` link does.
 */
export function ensureReleasesDir(releasesDir: string, home: string): void {
  fs.mkdirSync(releasesDir, { recursive: true, mode: 0o700 });
  const fromHome = path.relative(path.resolve(home), path.resolve(releasesDir));
  if (!fromHome.startsWith('..') && !path.isAbsolute(fromHome)) return;
  const link = path.join(releasesDir, 'node_modules');
  const wanted = path.join(path.resolve(home), 'node_modules');
  let existing: string | null = null;
  try {
    existing = fs.readlinkSync(link);
  } catch {
    existing = null;
  }
  if (existing === wanted) return;
  const temp = `${link}.${process.pid}-${tempSuffix()}`;
  fs.symlinkSync(wanted, temp);
  fs.renameSync(temp, link);
}

/** What a snapshot is made of. */
export interface SnapshotSource {
  /** A built `dist/` tree (with `worker/main.js`). */
  readonly distDir: string;
  /** The SQL migrations that go with it. */
  readonly drizzleDir: string;
}

/** Checks that `distDir` is a built worker; throws a sentence saying what is missing. */
export function checkSource(source: SnapshotSource): void {
  const entry = path.join(source.distDir, 'worker', 'main.js');
  if (!fs.existsSync(entry)) {
    throw new Error(
      `${source.distDir} is not a built worker (${entry} is missing): point at a dist/ folder built by \`npm run build\`.`,
    );
  }
  if (!fs.existsSync(path.join(source.drizzleDir, 'meta', '_journal.json'))) {
    throw new Error(
      `${source.drizzleDir} does not hold the drizzle migrations (meta/_journal.json is missing).`,
    );
  }
}

/** The next revision number: one above every id in `known` and every folder here. */
export function nextSequence(releasesDir: string, known: readonly string[]): number {
  let max = 0;
  const names = fs.existsSync(releasesDir) ? fs.readdirSync(releasesDir) : [];
  for (const id of [...known, ...names]) {
    const match = ID.exec(id);
    if (match) max = Math.max(max, Number(match[1]));
  }
  return max + 1;
}

/** A snapshot that was written. */
export interface Snapshot {
  readonly id: string;
  readonly path: string;
}

/**
 * Copies the worker into a new revision folder: written under a temporary name, files made
 * read-only, then renamed into place, so a revision folder is always complete.
 */
export function snapshot(releasesDir: string, source: SnapshotSource, sequence: number): Snapshot {
  checkSource(source);
  const staging = fs.mkdtempSync(path.join(releasesDir, '.staging-'));
  try {
    fs.cpSync(source.distDir, path.join(staging, 'dist'), { recursive: true, dereference: true });
    fs.cpSync(source.drizzleDir, path.join(staging, 'drizzle'), { recursive: true, dereference: true });
    const id = `r${sequence}-${hashTree(staging).slice(0, 7)}`;
    makeReadOnly(staging);
    const target = revisionPath(releasesDir, id);
    if (fs.existsSync(target)) throw new Error(`A revision folder ${target} exists already.`);
    fs.renameSync(staging, target);
    return { id, path: target };
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

/** Deletes a revision's folder and its pre-migration copy of the database (missing is fine). */
export function removeRevision(releasesDir: string, id: string): void {
  if (!isRevisionId(id)) throw new Error(`${id} is not a revision id.`);
  fs.rmSync(revisionPath(releasesDir, id), { recursive: true, force: true });
  fs.rmSync(preMigrateCopyPath(releasesDir, id), { force: true });
}

/**
 * Deletes staging folders and temporary links that a killed process left behind: those older than
 * `minAgeMs`, so that a release being built right now keeps its folder.
 */
export function removeLeftovers(releasesDir: string, now: number, minAgeMs = 3_600_000): void {
  if (!fs.existsSync(releasesDir)) return;
  for (const name of fs.readdirSync(releasesDir)) {
    if (!name.startsWith('.staging-') && !name.startsWith(`.${CURRENT}-`)) continue;
    const full = path.join(releasesDir, name);
    if (now - fs.lstatSync(full).mtimeMs >= minAgeMs) fs.rmSync(full, { recursive: true, force: true });
  }
}

/**
 * Builds the project's worker into `outDir` with the project's own TypeScript, leaving the
 * project's dist/ alone. Throws with the compiler's output when it fails.
 */
export function buildWorker(home: string, outDir: string): void {
  const tsc = path.join(home, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(
    process.execPath,
    [tsc, '-p', path.join(home, 'tsconfig.build.json'), '--outDir', outDir, '--sourceMap', 'false'],
    { cwd: home, encoding: 'utf8', timeout: 300000 },
  );
  if (result.status !== 0) {
    const output =
      `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() || String(result.error ?? 'no output');
    throw new Error(`Building the worker failed (tsc exited with ${result.status}):\n${output}`);
  }
}

// Only a release hashes, and only a temporary name needs randomness: node:crypto (OpenSSL, a few
// MB of the idle supervisor's memory) is loaded by the first release, not by every start.
function tempSuffix(): string {
  return Math.floor(Math.random() * 0x100000000)
    .toString(16)
    .padStart(8, '0');
}

/** A content hash of a folder: every file's relative path and bytes, in a fixed order. */
function hashTree(root: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        hash.update(path.relative(root, full)).update('\0').update(fs.readFileSync(full)).update('\0');
      }
    }
  };
  walk(root);
  return hash.digest('hex');
}

function makeReadOnly(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) makeReadOnly(full);
    else fs.chmodSync(full, 0o444);
  }
}
