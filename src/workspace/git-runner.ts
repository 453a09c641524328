// How the worker runs git on a project. A repository's own config can make git run programs (a
// filter at `git add`, an fsmonitor, hooks, an external diff or textconv, the upload-pack of a
// lazy fetch) and read places outside the project (core.worktree, include.path), and a run's
// `bash` could write that config, or a person's tool may have. So every invocation:
// - runs in bwrap with exactly the mounts and environment of a command when commands run there,
//   so nothing it runs or reads is outside what `bash` itself sees;
// - names the git dir and the work tree itself, so core.worktree and core.bare cannot point it at
//   the state folder, and refuses a `.git` that is a file, a link or names a common directory
//   (git would then use another folder's config and objects);
// - overrides, in the command scope that wins over every file, each setting that runs a program:
//   every filter driver the repository's config defines, the fsmonitor, hooks, signing,
//   transports; `diff` never runs an external diff or textconv;
// - refuses, unsandboxed, a config that includes other files: an include cannot be overridden,
//   and git would read the included file as the worker;
// - ends within a time limit, or at once on the caller's abort (the run's `/stop`), with its
//   whole process group, so neither a stuck filter nor a stuck git can hold the answer lane.
// Its environment is the commands' allowlist: neither the bot token nor the API key reaches git.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { seconds } from '../shared/seconds';
import { groupGone, signalGroup } from './process-group';
import { bwrapArgs, commandEnv, prepareGitMounts, type SandboxDecision } from './sandbox';

/** The author and committer of every commit autonous makes. */
export const AUTONOUS_IDENTITY = { name: 'autonous', email: 'autonous@localhost' } as const;

/** How long one git invocation may run when the caller sets no limit (AGENT_GIT_TIMEOUT_SECONDS). */
export const GIT_TIMEOUT_MS = 60_000;

/** Why git gave no answer: it failed, ran out of time, was stopped, or was not run on that repository. */
export type GitFailure = 'failed' | 'timeout' | 'aborted' | 'refused';

/** git gave no answer; `kind` says why, the message says it as a sentence (with git's stderr when it failed). */
export class GitError extends Error {
  constructor(
    readonly kind: GitFailure,
    readonly args: readonly string[],
    message: string,
    readonly code: number | null = null,
    readonly stderr: string = '',
  ) {
    super(message);
    this.name = 'GitError';
  }
}

/** How git runs: in bwrap when `sandbox` says so, bounded in time, stoppable. */
export interface GitOptions {
  readonly sandbox?: SandboxDecision;
  /** Each invocation's time limit (default GIT_TIMEOUT_MS); past it its process group is killed. */
  readonly timeoutMs?: number;
  /** Ends the invocation running now, and its process group, at once (the run's `/stop`). */
  readonly signal?: AbortSignal;
}

/** One git invocation. */
export interface GitCall {
  readonly input?: string | Buffer;
  /** GIT_INDEX_FILE: a temporary index, so the person's own index is left alone. */
  readonly indexFile?: string;
  /** Exit codes that are answers, not failures (default: only 0). */
  readonly okCodes?: readonly number[];
  /**
   * The call reads no file content (`ls-files`, `config --file`), so no filter driver can run: in
   * bwrap the listing of the repository's drivers is skipped (a process less). Unsandboxed it is
   * still made, for its refusal of config includes.
   */
  readonly readsNoContent?: boolean;
}

/** What git printed. */
export interface GitOutput {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Between SIGTERM and SIGKILL of a git that ran out of time or was stopped. */
const KILL_GRACE_MS = 1000;

/** After git exited, how long to wait for pipes that an escaped process still holds open. */
const DRAIN_AFTER_EXIT_MS = 500;

/**
 * Settings that win over the repository's (command scope): none of them runs a program or reads
 * a file outside the project. `-c` rather than GIT_CONFIG_COUNT because git passes `-c` on to the
 * git it starts in a nested repository.
 */
const SAFE_CONFIG: readonly string[] = [
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'core.pager=cat',
  'core.editor=true',
  'core.attributesFile=/dev/null',
  'core.askPass=',
  'credential.helper=',
  // a lazy fetch of a missing object in a "partial clone" would run the remote's upload-pack
  'protocol.allow=never',
  'commit.gpgSign=false',
  'log.showSignature=false',
  `user.name=${AUTONOUS_IDENTITY.name}`,
  `user.email=${AUTONOUS_IDENTITY.email}`,
].flatMap((setting) => ['-c', setting]);

/** What a project's `.git` is: absent (git then finds no repository), a plain folder, or refused (why). */
function inspectRepo(root: string): 'none' | 'plain' | { readonly refused: string } {
  const dotGit = path.join(root, '.git');
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dotGit);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    return { refused: `its .git cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  if (!stat.isDirectory())
    return {
      refused:
        'its .git is a file or a link (a linked worktree or a submodule), so git would use a repository elsewhere',
    };
  if (fs.existsSync(path.join(dotGit, 'commondir')))
    return { refused: 'its .git/commondir makes git use the config and objects of another folder' };
  return 'plain';
}

/** The environment every git gets: the commands' allowlist, the identity, no prompt. */
function gitEnv(root: string, call: GitCall): Record<string, string> {
  return {
    ...commandEnv(process.env, root),
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: AUTONOUS_IDENTITY.name,
    GIT_AUTHOR_EMAIL: AUTONOUS_IDENTITY.email,
    GIT_COMMITTER_NAME: AUTONOUS_IDENTITY.name,
    GIT_COMMITTER_EMAIL: AUTONOUS_IDENTITY.email,
    ...(call.indexFile ? { GIT_INDEX_FILE: call.indexFile } : {}),
  };
}

/** `diff` with an external diff or textconv would run a program the config names. */
function guarded(args: readonly string[]): readonly string[] {
  return args[0] === 'diff' ? ['diff', '--no-ext-diff', '--no-textconv', ...args.slice(1)] : args;
}

interface Spawned {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly aborted: boolean;
}

/**
 * Runs one git (or bwrap) process as the leader of its own process group; on timeout or abort
 * the group gets SIGTERM, then SIGKILL; when git exits, what it left in the group is killed.
 * Resolves once the group is gone.
 */
function spawnInGroup(
  file: string,
  argv: readonly string[],
  env: Record<string, string>,
  cwd: string,
  input: string | Buffer,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let aborted = false;
    let exitCode: number | null = null;
    let exited = false;
    let groupDone = false;
    let closed = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const end = (): void => {
      if (child.pid === undefined) return;
      const pid = child.pid;
      signalGroup(pid, 'SIGTERM');
      killTimer ??= setTimeout(() => signalGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      end();
    }, timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      end();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else
        resolve({
          code: exitCode,
          stdout: Buffer.concat(out),
          stderr: Buffer.concat(err).toString('utf8'),
          timedOut,
          aborted,
        });
    };
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => finish(error));
    child.on('exit', (code) => {
      exited = true;
      exitCode = code;
      const pid = child.pid as number;
      // a filter git started and left behind ends with it; only a group that existed is waited for
      const left = signalGroup(pid, 'SIGKILL');
      void (left ? groupGone(pid) : Promise.resolve()).then(() => {
        groupDone = true;
        if (closed) return finish();
        drainTimer = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          finish();
        }, DRAIN_AFTER_EXIT_MS);
      });
    });
    child.on('close', () => {
      closed = true;
      if (!exited || groupDone) finish();
    });
    child.stdin.on('error', () => undefined); // git may exit before reading all of it
    child.stdin.end(input);
    if (signal?.aborted) onAbort();
  });
}

/** Runs git (in bwrap when the options say so) with `args` after the fixed flags; no repository checks. */
async function invoke(
  root: string,
  args: readonly string[],
  call: GitCall,
  options: GitOptions,
  configOverrides: readonly (readonly [string, string])[],
): Promise<GitOutput> {
  const env = gitEnv(root, call);
  const name = args[0] ?? '';
  // a subcommand that is not git's own would run the config's alias of that name (`!cmd` runs a
  // shell); an empty alias makes it an error instead (git's own commands never look at aliases)
  const overrides = [
    ...configOverrides,
    ...(/^[a-z][a-z0-9-]*$/i.test(name) ? [[`alias.${name}`, ''] as const] : []),
  ];
  // GIT_CONFIG_COUNT rather than `-c`: a driver's name may hold any character, `=` included
  if (overrides.length > 0) env.GIT_CONFIG_COUNT = String(overrides.length);
  overrides.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  const gitArgs = [
    '--no-pager',
    '--literal-pathspecs',
    `--git-dir=${path.join(root, '.git')}`,
    `--work-tree=${root}`,
    ...SAFE_CONFIG,
    '-C',
    root,
    ...guarded(args),
  ];
  const sandbox = options.sandbox;
  const [file, argv] =
    sandbox?.kind === 'bwrap'
      ? [sandbox.bwrap, [...bwrapArgs({ root, env, policy: sandbox.policy }), '--', 'git', ...gitArgs]]
      : ['git', gitArgs];
  const timeoutMs = options.timeoutMs ?? GIT_TIMEOUT_MS;
  let done: Spawned;
  try {
    done = await spawnInGroup(file, argv, env, root, call.input ?? '', timeoutMs, options.signal);
  } catch (err) {
    throw new GitError('failed', args, `git ${name} could not start: ${(err as Error).message}`);
  }
  if (done.aborted) throw new GitError('aborted', args, `git ${name} was stopped`, done.code, done.stderr);
  if (done.timedOut)
    throw new GitError(
      'timeout',
      args,
      `git ${name} took longer than ${seconds(timeoutMs, true)} and was stopped`,
      done.code,
      done.stderr,
    );
  if (done.code !== null && (done.code === 0 || call.okCodes?.includes(done.code)))
    return { code: done.code, stdout: done.stdout, stderr: done.stderr };
  throw new GitError(
    'failed',
    args,
    `git ${name} failed (exit ${done.code}): ${done.stderr.trim() || 'no message'}`,
    done.code,
    done.stderr,
  );
}

/**
 * The command-scope settings that switch off every filter driver the repository's config
 * defines (an empty command is "no filter", and a driver that is not required may be absent), so
 * `.gitattributes` can name any of them and nothing runs. Refuses, unsandboxed, a config with
 * includes: an include cannot be switched off from the command line and would be read as the
 * worker, wherever it points; in bwrap it can only read what a command can.
 */
async function driverOverrides(root: string, options: GitOptions): Promise<(readonly [string, string])[]> {
  const sandboxed = options.sandbox?.kind === 'bwrap';
  const list = ['config', '--list', '--name-only', '-z', ...(sandboxed ? [] : ['--no-includes'])];
  const names = (await invoke(root, list, {}, options, [])).stdout
    .toString('utf8')
    .split('\0')
    .filter((name) => name !== '');
  if (!sandboxed) {
    const include = names.find(
      (n) => n === 'include.path' || (n.startsWith('includeif.') && n.endsWith('.path')),
    );
    if (include !== undefined)
      throw new GitError(
        'refused',
        list,
        `git does not run on ${root} unsandboxed: its config includes another file (${include}), which git would read as the worker. Remove the include, or let commands run in bwrap (AGENT_SANDBOX).`,
      );
  }
  const drivers = new Set<string>();
  for (const name of names) {
    const first = name.indexOf('.');
    const last = name.lastIndexOf('.');
    // section.subsection.variable: the subsection (the driver's name) may itself hold dots
    if (name.slice(0, first) === 'filter' && last > first) drivers.add(name.slice(first + 1, last));
  }
  return [...drivers].flatMap((driver) => [
    [`filter.${driver}.clean`, ''] as const,
    [`filter.${driver}.smudge`, ''] as const,
    [`filter.${driver}.process`, ''] as const,
    [`filter.${driver}.required`, 'false'] as const,
  ]);
}

/** Runs `git args` on the repository of `root`; resolves with its output, rejects with GitError otherwise. */
export async function runGit(
  root: string,
  args: readonly string[],
  call: GitCall = {},
  options: GitOptions = {},
): Promise<GitOutput> {
  const abs = path.resolve(root);
  const repo = inspectRepo(abs);
  if (typeof repo === 'object')
    throw new GitError('refused', args, `git does not run on ${abs}: ${repo.refused}.`);
  if (options.signal?.aborted) throw new GitError('aborted', args, `git ${args[0] ?? ''} was stopped`);
  if (repo === 'none') return invoke(abs, args, call, options, []);
  const sandboxed = options.sandbox?.kind === 'bwrap';
  if (sandboxed) prepareGitMounts(abs);
  if (sandboxed && call.readsNoContent === true) return invoke(abs, args, call, options, []);
  return invoke(abs, args, call, options, await driverOverrides(abs, options));
}

/** `runGit` with its output as trimmed text. */
export async function gitText(
  root: string,
  args: readonly string[],
  call: GitCall = {},
  options: GitOptions = {},
): Promise<string> {
  return (await runGit(root, args, call, options)).stdout.toString('utf8').trim();
}
