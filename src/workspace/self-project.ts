// Project `self`: a clone of the checkout autonous runs from, on a branch of its own, where the
// agent changes autonous's own code like any project's.
//
// A clone rather than a git worktree: a worktree's `.git` is a file pointing into the checkout's
// `.git/worktrees/<name>`, and it shares the checkout's object store, refs and config. A command
// in the project would need the checkout's `.git` mounted writable (to commit), and from there it
// could write the checkout's own hooks and config, which run the next time the operator (or the
// worker) uses git in the checkout. A clone owns everything it writes; its objects are copied, not
// hard-linked, so no file is shared with the checkout; and its remote is removed, so nothing the
// worker runs on it ever reaches back into the checkout.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { commandEnv } from './sandbox';

const run = promisify(execFile);

/** The name of the project that is autonous's own code. */
export const SELF_PROJECT = 'self';

/** The branch the clone works on. */
export const SELF_BRANCH = 'self';

/** Where the folder `node_modules` of project self is: the checkout's, mounted read-only there. */
export const SELF_NODE_MODULES = 'node_modules';

/** The folder of project self in the workspaces folder (it may not exist yet). */
export function selfProjectPath(workspaces: string): string {
  return path.join(path.resolve(workspaces), SELF_PROJECT);
}

/** The file holding the commit project self was cloned at: beside it, where no command reaches. */
export function selfBasePath(workspaces: string): string {
  return path.join(path.resolve(workspaces), '.self-base');
}

/** The commit project self was cloned at, or null when unknown. */
export function selfBaseCommit(workspaces: string): string | null {
  try {
    const text = fs.readFileSync(selfBasePath(workspaces), 'utf8').trim();
    return /^[0-9a-f]{40,64}$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

/** How many times a git call's time limit the clone itself may take. */
const CLONE_TIME_FACTOR = 5;

/** A clone that exists, and the commit it started from when it was made just now. */
export interface SelfClone {
  /** Its real path. */
  readonly root: string;
  /** The checkout's HEAD it was cloned at; null when it existed already. */
  readonly madeAt: string | null;
}

// Settings that win over the checkout's own config for the clone: the checkout is the operator's,
// but nothing of it should run as the worker (hooks, an fsmonitor) while it is copied.
const SAFE = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-c', 'core.askPass='];

async function git(cwd: string, args: readonly string[], timeoutMs: number): Promise<string> {
  const { stdout } = await run('git', [...SAFE, ...args], {
    cwd,
    env: commandEnv(process.env, cwd),
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim();
}

/**
 * Project self, cloned from `checkout` on first use: written under a temporary name and renamed
 * into place, so a kill half-way leaves no half clone that looks like the project. Its branch is
 * `self` at the checkout's HEAD, its identity autonous, no remote. The sandbox mounts the
 * checkout's packages at its `node_modules` (read-only), making the mount point before each command.
 */
export async function ensureSelfClone(
  workspaces: string,
  checkout: string,
  /** Each git call's time limit (AGENT_GIT_TIMEOUT_SECONDS). */
  timeoutMs: number,
): Promise<SelfClone> {
  const root = selfProjectPath(workspaces);
  if (fs.existsSync(path.join(root, '.git'))) return { root: fs.realpathSync(root), madeAt: null };
  if (!fs.existsSync(path.join(checkout, '.git'))) {
    throw new Error(
      `Project self cannot be made: the checkout ${checkout} (AUTONOUS_HOME) is not a git repository.`,
    );
  }
  fs.mkdirSync(path.dirname(root), { recursive: true });
  const staging = fs.mkdtempSync(path.join(path.dirname(root), '.self-'));
  try {
    const head = await git(checkout, ['rev-parse', 'HEAD'], timeoutMs);
    // the clone copies the whole history: it gets longer than one git call of a run
    await git(
      staging,
      ['clone', '-q', '--no-hardlinks', '--no-checkout', checkout, 'repo'],
      timeoutMs * CLONE_TIME_FACTOR,
    );
    const repo = path.join(staging, 'repo');
    await git(repo, ['remote', 'remove', 'origin'], timeoutMs);
    await git(repo, ['checkout', '-q', '-B', SELF_BRANCH, head], timeoutMs);
    await git(repo, ['config', 'user.name', 'autonous'], timeoutMs);
    await git(repo, ['config', 'user.email', 'autonous@localhost'], timeoutMs);
    // where the clone began, outside the project, so no command can move it
    fs.writeFileSync(selfBasePath(workspaces), `${head}\n`);
    fs.renameSync(repo, root);
    return { root: fs.realpathSync(root), madeAt: head };
  } catch (err) {
    if (fs.existsSync(path.join(root, '.git'))) return { root: fs.realpathSync(root), madeAt: null };
    throw err;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
