import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  checkSource,
  ensureReleasesDir,
  nextSequence,
  pointCurrentAt,
  readCurrent,
  removeLeftovers,
  revisionAvailable,
  snapshot,
  workerScriptPath,
} from '../../src/supervisor-hooks/releases';

const REPO = path.resolve(__dirname, '..', '..');
let root: string;

/** A built "project": dist/worker/main.js printing `text`, and a drizzle folder. */
function project(dir: string, main = "console.log('hello from ' + __dirname);\n"): string {
  fs.mkdirSync(path.join(dir, 'dist', 'worker'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'dist', 'worker', 'main.js'), main);
  fs.mkdirSync(path.join(dir, 'drizzle', 'meta'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'drizzle', 'meta', '_journal.json'), '{"entries":[]}');
  return dir;
}
const sourceOf = (dir: string) => ({
  distDir: path.join(dir, 'dist'),
  drizzleDir: path.join(dir, 'drizzle'),
});

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-test-'));
});
afterEach(() => {
  // snapshots are read-only files in writable folders: rm can delete them
  fs.rmSync(root, { recursive: true, force: true });
});

describe('releases folder', () => {
  it('snapshots dist and drizzle into a complete, read-only revision folder', () => {
    const releases = path.join(root, 'releases');
    ensureReleasesDir(releases, REPO);
    const made = snapshot(releases, sourceOf(project(path.join(root, 'p'))), 1);
    expect(made.id).toMatch(/^r1-[0-9a-f]{7}$/);
    expect(fs.readFileSync(path.join(made.path, 'dist', 'worker', 'main.js'), 'utf8')).toContain('hello');
    expect(fs.existsSync(path.join(made.path, 'drizzle', 'meta', '_journal.json'))).toBe(true);
    expect(fs.statSync(path.join(made.path, 'dist', 'worker', 'main.js')).mode & 0o222).toBe(0);
    expect(revisionAvailable(releases, made.id)).toBe(true);
    expect(fs.readdirSync(releases).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('names a revision by sequence and content', () => {
    const releases = path.join(root, 'releases');
    ensureReleasesDir(releases, REPO);
    const a = snapshot(releases, sourceOf(project(path.join(root, 'a'))), 1);
    const b = snapshot(releases, sourceOf(project(path.join(root, 'b'))), 2);
    const c = snapshot(releases, sourceOf(project(path.join(root, 'c'), 'throw new Error("x");\n')), 3);
    expect(a.id.slice(3)).toBe(b.id.slice(3));
    expect(c.id.slice(3)).not.toBe(a.id.slice(3));
    expect(nextSequence(releases, [])).toBe(4);
    expect(nextSequence(releases, ['r9-0000000'])).toBe(10);
  });

  it('refuses a folder that is not a built worker, saying what is missing', () => {
    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    expect(() => checkSource({ distDir: empty, drizzleDir: empty })).toThrow(
      /is not a built worker .*worker\/main\.js is missing/,
    );
    const releases = path.join(root, 'releases');
    ensureReleasesDir(releases, REPO);
    expect(() => snapshot(releases, { distDir: empty, drizzleDir: empty }, 1)).toThrow(/not a built worker/);
    expect(fs.readdirSync(releases).filter((n) => n.startsWith('.staging'))).toEqual([]);
  });

  it('re-points current atomically: a reader never finds it missing', () => {
    const releases = path.join(root, 'releases');
    ensureReleasesDir(releases, REPO);
    const a = snapshot(releases, sourceOf(project(path.join(root, 'a'))), 1);
    const b = snapshot(releases, sourceOf(project(path.join(root, 'b'), '// b\n')), 2);
    pointCurrentAt(releases, a.id);
    // a separate process reads the link in a tight loop while this one swaps it
    const reader = path.join(root, 'reader.js');
    fs.writeFileSync(
      reader,
      `const fs=require('fs');let missing=0,reads=0;const end=Date.now()+1500;
       while(Date.now()<end){try{fs.readFileSync(process.argv[2]);reads++}catch{missing++}}
       console.log(JSON.stringify({missing,reads}));`,
    );
    const child = spawn(process.execPath, [reader, workerScriptPath(releases)]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const until = Date.now() + 1200;
    let swaps = 0;
    while (Date.now() < until) {
      pointCurrentAt(releases, swaps % 2 === 0 ? b.id : a.id);
      swaps++;
    }
    return done.then(() => {
      const result = JSON.parse(out) as { missing: number; reads: number };
      expect(swaps).toBeGreaterThan(100);
      expect(result.reads).toBeGreaterThan(100);
      expect(result.missing).toBe(0);
      expect(fs.readlinkSync(path.join(releases, 'current'))).toMatch(/^r[12]-/); // relative target
    });
  });

  it('reads where current points: a revision, or the project before the first one', () => {
    const releases = path.join(root, 'releases');
    ensureReleasesDir(releases, REPO);
    expect(readCurrent(releases)).toBeNull();
    const home = project(path.join(root, 'home'));
    pointCurrentAt(releases, home);
    expect(readCurrent(releases)).toMatchObject({ target: home, revision: null });
    const a = snapshot(releases, sourceOf(home), 1);
    pointCurrentAt(releases, a.id);
    expect(readCurrent(releases)).toMatchObject({ target: a.path, revision: a.id });
  });

  it('says so when current is not a link', () => {
    const releases = path.join(root, 'releases');
    fs.mkdirSync(path.join(releases, 'current'), { recursive: true });
    expect(() => readCurrent(releases)).toThrow(/is not a symbolic link/);
  });

  it('runs a snapshot outside the project with the project packages, through a node_modules link', () => {
    const releases = path.join(root, 'releases');
    ensureReleasesDir(releases, REPO);
    expect(fs.readlinkSync(path.join(releases, 'node_modules'))).toBe(path.join(REPO, 'node_modules'));
    const main =
      "require('better-sqlite3'); console.log(require('path').resolve(__dirname, '..', '..', 'drizzle'));\n";
    const a = snapshot(releases, sourceOf(project(path.join(root, 'p'), main)), 1);
    pointCurrentAt(releases, a.id);
    const printed = execFileSync(process.execPath, [workerScriptPath(releases)], { encoding: 'utf8' }).trim();
    // Node resolves the link: migrations are found in the revision itself
    expect(printed).toBe(path.join(a.path, 'drizzle'));
  });

  it('needs no node_modules link inside the project', () => {
    const home = project(path.join(root, 'home'));
    const releases = path.join(home, 'state', 'releases');
    ensureReleasesDir(releases, home);
    expect(fs.existsSync(path.join(releases, 'node_modules'))).toBe(false);
  });

  it('tidies staging folders and temporary links a killed process left, not a build in progress', () => {
    const releases = path.join(root, 'releases');
    ensureReleasesDir(releases, REPO);
    const leftovers = ['.current-1-abcd', '.staging-abc'];
    fs.mkdirSync(path.join(releases, '.staging-abc'));
    fs.symlinkSync('r1-0000000', path.join(releases, '.current-1-abcd'));
    removeLeftovers(releases, Date.now());
    expect(fs.readdirSync(releases).sort()).toEqual([...leftovers, 'node_modules']);
    // Their age is set, not taken from the clock: file times keep the fraction of a millisecond
    // that Date.now() drops, so an entry made in the current millisecond is younger than `now`
    // says and `Date.now() + 1 h` can fall short of its hour. Whole seconds are stored exactly.
    const leftAt = Math.floor(Date.now() / 1000);
    for (const name of leftovers) fs.lutimesSync(path.join(releases, name), leftAt, leftAt);
    removeLeftovers(releases, leftAt * 1000 + 3_600_000 - 1);
    expect(fs.readdirSync(releases).sort()).toEqual([...leftovers, 'node_modules']);
    removeLeftovers(releases, leftAt * 1000 + 3_600_000);
    expect(fs.readdirSync(releases).sort()).toEqual(['node_modules']);
  });
});
