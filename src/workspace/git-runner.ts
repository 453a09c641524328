// How the worker runs git on a project: with the commands' allowlisted environment (git would
// otherwise hand the worker's token and key to any hook, filter or fsmonitor the agent wrote
// into .git/config), without the system's and the user's config (the identity is always
// autonous's, and $HOME is the project, whose .gitconfig the agent can write), without hooks,
// and in bwrap when commands run there, since a filter driver in .git/config runs at `git add`.
import { spawn } from 'node:child_process';
import { bwrapArgs, commandEnv, type SandboxDecision } from './sandbox';

/** The author and committer of every commit autonous makes. */
export const AUTONOUS_IDENTITY = { name: 'autonous', email: 'autonous@localhost' } as const;

/** git failed; the message holds its stderr. */
export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args[0] ?? ''} failed (exit ${code}): ${stderr.trim() || 'no message'}`);
    this.name = 'GitError';
  }
}

/** How git runs: in bwrap when `sandbox` says so. */
export interface GitOptions {
  readonly sandbox?: SandboxDecision;
}

/** One git invocation. */
export interface GitCall {
  readonly input?: string | Buffer;
  /** GIT_INDEX_FILE: a temporary index, so the person's own index is left alone. */
  readonly indexFile?: string;
  /** Exit codes that are answers, not failures (default: only 0). */
  readonly okCodes?: readonly number[];
}

/** What git printed. */
export interface GitOutput {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

const SAFE_CONFIG = [
  '-c',
  'core.fsmonitor=false',
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.pager=cat',
  '-c',
  'commit.gpgsign=false',
  '-c',
  `user.name=${AUTONOUS_IDENTITY.name}`,
  '-c',
  `user.email=${AUTONOUS_IDENTITY.email}`,
];

/** Runs `git -C root args` and resolves with its output; rejects with GitError on another exit code. */
export function runGit(
  root: string,
  args: readonly string[],
  call: GitCall = {},
  options: GitOptions = {},
): Promise<GitOutput> {
  const env: Record<string, string> = {
    ...commandEnv(process.env, root),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: AUTONOUS_IDENTITY.name,
    GIT_AUTHOR_EMAIL: AUTONOUS_IDENTITY.email,
    GIT_COMMITTER_NAME: AUTONOUS_IDENTITY.name,
    GIT_COMMITTER_EMAIL: AUTONOUS_IDENTITY.email,
    ...(call.indexFile ? { GIT_INDEX_FILE: call.indexFile } : {}),
  };
  const gitArgs = ['--literal-pathspecs', ...SAFE_CONFIG, '-C', root, ...args];
  const [file, argv] =
    options.sandbox?.kind === 'bwrap'
      ? [options.sandbox.bwrap, [...bwrapArgs({ root, env }), '--', 'git', ...gitArgs]]
      : ['git', gitArgs];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => reject(new GitError(args, null, error.message)));
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== null && (code === 0 || call.okCodes?.includes(code))) {
        resolve({ code, stdout: Buffer.concat(out), stderr });
      } else reject(new GitError(args, code, stderr));
    });
    child.stdin.on('error', () => undefined); // git may exit before reading all of it
    child.stdin.end(call.input ?? '');
  });
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
