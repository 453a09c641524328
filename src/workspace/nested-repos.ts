// Nested repositories a command made or changed in a project cannot run code through the
// person's git. A project's own `.git/config` and hooks are read-only in the sandbox, but a nested
// repository (`git init sub`, a clone) is an ordinary folder of the project: once it is a gitlink
// in the index (`git add`, which a command can also do), the person's `git status` runs `status`
// inside it, and with it the nested config's fsmonitor, filters and hooks, unsandboxed. So after
// every command the worker reduces each nested repository's config to an allowlist of settings
// that run nothing, and removes its hooks and the files that would lead git elsewhere.
import fs from 'node:fs';
import path from 'node:path';
import { runGit, type GitOptions } from './git-runner';
import { isInside } from './paths';

/** Settings of a nested repository that run no program and read nothing outside it. */
const INERT_SETTINGS: readonly RegExp[] = [
  /^core\.(repositoryformatversion|filemode|bare|logallrefupdates|ignorecase|precomposeunicode|symlinks|autocrlf|eol|safecrlf|quotepath)$/,
  /^remote\..+\.(url|fetch)$/,
  /^branch\..+\.(remote|merge)$/,
  /^user\.(name|email)$/,
  /^init\.defaultbranch$/,
  /^extensions\.objectformat$/,
];

/** Files in a git folder that make git read configuration or objects from elsewhere. */
const REDIRECTING_FILES: readonly string[] = ['commondir', 'config.worktree'];

/** Nested repositories looked at per command, and how deep nesting is followed. */
const MAX_NESTED = 200;
const MAX_DEPTH = 3;

/** Whether a setting (as `git config --name-only` prints it) is on the allowlist. */
export function isInertSetting(name: string): boolean {
  // section and key are case-insensitive, a subsection is not: compare the outer parts lowercased
  const first = name.indexOf('.');
  const last = name.lastIndexOf('.');
  const normal =
    first === last
      ? name.toLowerCase()
      : `${name.slice(0, first).toLowerCase()}${name.slice(first, last)}${name.slice(last).toLowerCase()}`;
  return INERT_SETTINGS.some((pattern) => pattern.test(normal));
}

function nulList(out: Buffer): string[] {
  return out
    .toString('utf8')
    .split('\0')
    .filter((entry) => entry !== '');
}

/** The paths of the repository at `root` that are nested repositories: gitlinks, and untracked ones. */
async function nestedPaths(root: string, options: GitOptions): Promise<string[]> {
  const [staged, untracked] = await Promise.all([
    runGit(root, ['ls-files', '-s', '-z'], { readsNoContent: true }, options),
    runGit(root, ['ls-files', '-o', '-z', '--exclude-standard'], { readsNoContent: true }, options),
  ]);
  const links = nulList(staged.stdout)
    .filter((entry) => entry.startsWith('160000 '))
    .map((entry) => entry.slice(entry.indexOf('\t') + 1));
  // git lists an untracked nested repository as its folder, with a trailing slash
  const repos = nulList(untracked.stdout)
    .filter((entry) => entry.endsWith('/'))
    .map((entry) => entry.slice(0, -1));
  return [...new Set([...links, ...repos])].slice(0, MAX_NESTED);
}

/** The git folder of the nested repository at `dir`, when it lies in the project and is not the project's own. */
function gitFolderOf(projectRoot: string, dir: string): string | null {
  const dotGit = path.join(dir, '.git');
  let target = dotGit;
  try {
    const stat = fs.lstatSync(dotGit);
    if (stat.isFile()) {
      const match = /^gitdir: *(.+?)\s*$/m.exec(fs.readFileSync(dotGit, 'utf8'));
      if (!match) return null;
      target = path.resolve(dir, match[1] as string);
    }
    target = fs.realpathSync(target);
  } catch {
    return null;
  }
  const own = path.join(projectRoot, '.git');
  // outside the project a command cannot write; the project's own git folder is read-only to it
  if (!isInside(projectRoot, target) || isInside(own, target)) return null;
  return fs.statSync(target).isDirectory() ? target : null;
}

/** Reduces one nested git folder to inert settings; says what it removed. */
async function neutralize(projectRoot: string, gitFolder: string, options: GitOptions): Promise<string[]> {
  const removed: string[] = [];
  const config = path.join(gitFolder, 'config');
  if (fs.existsSync(config)) {
    // --file reads that one file as it is: no include is followed
    const names = await runGit(
      projectRoot,
      ['config', '--file', config, '--name-only', '--list', '-z'],
      { okCodes: [1], readsNoContent: true },
      options,
    );
    for (const name of new Set(nulList(names.stdout))) {
      if (isInertSetting(name)) continue;
      await runGit(
        projectRoot,
        ['config', '--file', config, '--unset-all', name],
        { okCodes: [5], readsNoContent: true },
        options,
      );
      removed.push(name);
    }
  }
  const hooks = path.join(gitFolder, 'hooks');
  for (const hook of fs.existsSync(hooks) ? fs.readdirSync(hooks) : []) {
    if (hook.endsWith('.sample')) continue;
    fs.rmSync(path.join(hooks, hook), { recursive: true, force: true });
    removed.push(`hooks/${hook}`);
  }
  for (const name of REDIRECTING_FILES) {
    const file = path.join(gitFolder, name);
    if (!fs.existsSync(file)) continue;
    fs.rmSync(file, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Makes every nested repository of the project at `root` inert for the person's git (see the
 * file's comment), following nesting MAX_DEPTH deep; returns one line per repository changed,
 * e.g. "sub/.git: removed core.fsmonitor, hooks/pre-commit". Runs git as `options` say.
 */
export async function neutralizeNestedRepos(
  root: string,
  options: GitOptions,
  projectRoot: string = root,
  depth = 0,
): Promise<string[]> {
  if (depth >= MAX_DEPTH || !fs.existsSync(path.join(root, '.git'))) return [];
  const lines: string[] = [];
  let nested: string[];
  try {
    nested = await nestedPaths(root, options);
  } catch {
    return lines; // a repository git refuses to read is refused again, with its reason, at commit
  }
  for (const relative of nested) {
    const dir = path.join(root, relative);
    const gitFolder = gitFolderOf(projectRoot, dir);
    if (gitFolder === null) continue;
    const removed = await neutralize(projectRoot, gitFolder, options);
    if (removed.length > 0)
      lines.push(`${path.relative(projectRoot, dir)}/.git: removed ${removed.join(', ')}`);
    lines.push(...(await neutralizeNestedRepos(dir, options, projectRoot, depth + 1).catch(() => [])));
  }
  return lines;
}
