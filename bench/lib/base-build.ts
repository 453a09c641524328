// Another build of autonous to compare with: a git worktree of a commit under the temp folder,
// sharing this checkout's node_modules, built once with `npm run build` and reused after.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The built worker of a build's root. */
export function workerMain(root: string): string {
  return path.join(root, 'dist', 'worker', 'main.js');
}

/**
 * The root of a build of `commit` (a worktree at `<tmp>/autonous-bench-<commit>`), made and built
 * when it is not there yet; `repo` is this checkout. Remove it with `git worktree remove <path>`.
 */
export function ensureBaseBuild(repo: string, commit: string): string {
  const root = path.join(os.tmpdir(), `autonous-bench-${commit}`);
  if (fs.existsSync(workerMain(root))) return root;
  const run = (command: string, args: readonly string[], cwd: string): void => {
    console.log(`$ ${command} ${args.join(' ')}   (in ${cwd})`);
    execFileSync(command, args, { cwd, stdio: 'inherit' });
  };
  if (!fs.existsSync(root)) run('git', ['worktree', 'add', '--detach', root, commit], repo);
  const modules = path.join(root, 'node_modules');
  if (!fs.existsSync(modules)) fs.symlinkSync(path.join(repo, 'node_modules'), modules);
  run('npm', ['run', 'build'], root);
  return root;
}
