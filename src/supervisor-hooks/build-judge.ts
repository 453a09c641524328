// The judge's second look at a self-release, on what was built rather than on the diff the worker
// showed: the built judge (the supervisor and the release machinery) must be the running one byte
// for byte, and the migrations may only add to what the running revision has. The worker's own
// check ran in the sandbox the release came out of; this one runs where nothing of it reaches.
import fs from 'node:fs';
import path from 'node:path';
import {
  migrationChange,
  PROTECTED_BUILD_DIRS,
  PROTECTED_PATHS,
  readMigrations,
} from '../self-release/rules';

/**
 * Why the supervisor refuses the built worker in `candidateDir` (a folder with `dist/` and
 * `drizzle/`) as the successor of the one in `runningDir`, or null when it may run.
 */
export function judgeBuild(candidateDir: string, runningDir: string): string | null {
  for (const dir of PROTECTED_BUILD_DIRS) {
    const changed = firstDifference(path.join(runningDir, 'dist', dir), path.join(candidateDir, 'dist', dir));
    if (changed === null) continue;
    const where = changed === '' ? `dist/${dir}/` : `dist/${dir}/${changed}`;
    const why =
      PROTECTED_PATHS.find((p) => p.path === `src/${dir}/`)?.why ??
      'the judge of a release is never replaced by one';
    return `its build of ${where} is not the running revision's, and ${why}`;
  }
  return migrationChange(
    readMigrations(path.join(runningDir, 'drizzle')),
    readMigrations(path.join(candidateDir, 'drizzle')),
  );
}

/** What a path is, as far as the comparison goes. */
type Kind = 'dir' | 'file' | 'link' | 'other';

function kindOf(stat: fs.Stats): Kind {
  if (stat.isSymbolicLink()) return 'link';
  if (stat.isDirectory()) return 'dir';
  if (stat.isFile()) return 'file';
  return 'other';
}

/** Every path under `root` (relative, `/`-separated) with its kind; null when `root` is not there. */
function listTree(root: string): Map<string, Kind> | null {
  let rootStat: fs.Stats;
  try {
    rootStat = fs.lstatSync(root);
  } catch {
    return null;
  }
  const found = new Map<string, Kind>();
  if (!rootStat.isDirectory()) {
    found.set('', kindOf(rootStat));
    return found;
  }
  const walk = (dir: string, prefix: string): void => {
    for (const entry of fs.readdirSync(dir)) {
      const full = path.join(dir, entry);
      const rel = prefix === '' ? entry : `${prefix}/${entry}`;
      const kind = kindOf(fs.lstatSync(full));
      found.set(rel, kind);
      if (kind === 'dir') walk(full, rel);
    }
  };
  walk(root, '');
  return found;
}

/**
 * The first path (relative, in sorted order) of the candidate's tree `b` that the running tree `a`
 * lacks or holds otherwise (another kind, other bytes, another link target); '' when one side is
 * missing or is not a folder; null when every path of `b` is `a`'s (both missing counts as the
 * same). A link is compared as a link, never followed: a copy that follows links could otherwise
 * be made to differ from what was compared.
 */
function firstDifference(a: string, b: string): string | null {
  const left = listTree(a);
  const right = listTree(b);
  if (left === null && right === null) return null;
  if (left === null || right === null || left.has('') || right.has('')) return '';
  // what the candidate has, each the running one's; a file only the running revision has is left
  // over from an older build of the checkout (tsc never deletes), and the candidate runs without it
  const names = [...right.keys()].sort();
  for (const name of names) {
    const kind = left.get(name);
    if (kind !== right.get(name)) return name;
    const pa = path.join(a, name);
    const pb = path.join(b, name);
    if (kind === 'file' && !fs.readFileSync(pa).equals(fs.readFileSync(pb))) return name;
    if (kind === 'link' && fs.readlinkSync(pa) !== fs.readlinkSync(pb)) return name;
    if (kind === 'other') return name;
  }
  return null;
}
