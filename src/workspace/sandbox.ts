// The sandbox of the agent's commands: whether to use bubblewrap (a pure decision on
// AGENT_SANDBOX and whether bwrap works here), the detection of a working bwrap, the command's
// environment allowlist and the bwrap argument list built from the mount policy.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  defaultSandboxPolicy,
  hiddenUnder,
  realAbsolute,
  SANDBOX_UID,
  type SandboxPolicy,
} from './sandbox-policy';
import { type ChoiceOf, WORKER_SETTINGS } from '../shared/settings';

/** `AGENT_SANDBOX`: `auto` uses bwrap when it works, `bwrap` requires it, `off` never uses it. */
export type SandboxMode = ChoiceOf<'AGENT_SANDBOX'>;

/** The values of `AGENT_SANDBOX`, as its setting lists them. */
export const SANDBOX_MODES: readonly SandboxMode[] = WORKER_SETTINGS.AGENT_SANDBOX.choices;

/** How commands will run, with the sentence `/status`, `doctor` and the start log show. */
export type SandboxDecision =
  | {
      readonly kind: 'bwrap';
      readonly sandboxed: true;
      readonly note: string;
      readonly bwrap: string;
      /** What a command sees: the allowlist of mounts. */
      readonly policy: SandboxPolicy;
    }
  | { readonly kind: 'plain'; readonly sandboxed: false; readonly note: string }
  | { readonly kind: 'refuse'; readonly sandboxed: false; readonly note: string };

/** What makes bwrap work in a container: its engine lets it mount a fresh /proc. */
export const CONTAINER_SANDBOX_FLAGS =
  'run the container with --security-opt unmask=/proc/* (podman) or --security-opt systempaths=unconfined (docker), as scripts/redeploy does';

/** Whether this process runs in a container (podman's and docker's marker files). */
export function inContainer(): boolean {
  return fs.existsSync('/run/.containerenv') || fs.existsSync('/.dockerenv');
}

/**
 * Picks how commands run from the mode and the working bwrap found (null: none); `container`: in a
 * container, where a bwrap that is installed but fails needs the engine's flags, not a package.
 */
export function decideSandbox(
  mode: SandboxMode,
  bwrap: string | null,
  policy: SandboxPolicy = defaultSandboxPolicy(),
  container = false,
): SandboxDecision {
  const remedy = container ? CONTAINER_SANDBOX_FLAGS : 'install bubblewrap (Debian package bubblewrap)';
  if (mode === 'off') {
    return { kind: 'plain', sandboxed: false, note: 'commands run unsandboxed (AGENT_SANDBOX=off)' };
  }
  if (bwrap !== null) {
    return {
      kind: 'bwrap',
      sandboxed: true,
      bwrap,
      policy,
      note: 'commands run in bubblewrap: only system folders and the project are mounted, no capabilities, no network',
    };
  }
  if (mode === 'bwrap') {
    return {
      kind: 'refuse',
      sandboxed: false,
      note: `AGENT_SANDBOX=bwrap but bwrap is missing or does not work here: ${remedy}, or set AGENT_SANDBOX=auto`,
    };
  }
  return {
    kind: 'plain',
    sandboxed: false,
    note: `commands run unsandboxed: bwrap is missing or does not work here (${remedy})`,
  };
}

/** Where `name` is on `PATH` as an executable file, or null. */
export function findOnPath(name: string, pathVar: string | undefined): string | null {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** PATH for commands when the worker has none. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The whole environment of an agent's command: PATH, HOME, LANG, TZ, and git told to read neither
 * the system's nor a global config. Nothing else of the worker's environment, so neither the bot
 * token nor the API key can reach a command. HOME is the project in the sandbox (the only place
 * it can write); unsandboxed it is `home`, a folder outside the project, so that a `.gitconfig`
 * or rc file the agent writes into the project applies to nothing the person approves.
 */
export function commandEnv(
  source: Readonly<Record<string, string | undefined>>,
  root: string,
  home: string = root,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: source.PATH || DEFAULT_PATH,
    HOME: home,
    LANG: source.LANG || 'C.UTF-8',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  };
  if (source.TZ) env.TZ = source.TZ;
  return env;
}

/** The shell commands run in: bash where there is one (models write bash), else sh. */
export function shellPath(): string {
  return fs.existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
}

/** What a bwrap sandbox of one command gets. */
export interface BwrapOptions {
  readonly root: string;
  readonly env: Readonly<Record<string, string>>;
  /** What the command may see (default: this machine's default policy). */
  readonly policy?: SandboxPolicy;
  /** `bash {network: true}`: keep the host's network (and the resolver's file). */
  readonly network?: boolean;
}

/** The repository files a command may read but not change: they make git run programs. */
export const READ_ONLY_GIT_PATHS: readonly string[] = ['config', 'hooks', 'info', 'modules', 'worktrees'];

/**
 * Files a command could create in the writable `.git` to lead the person's git elsewhere:
 * `commondir` makes git read another folder's config (with its hooks and fsmonitor), and
 * `config.worktree` adds config. bwrap cannot keep a missing file from being created without
 * making `.git` read-only (and `git commit` needs it writable), so the worker removes the ones a
 * command created, once its whole process group is gone.
 */
export const PLANTABLE_GIT_FILES: readonly string[] = ['commondir', 'config.worktree'];

/** Which of PLANTABLE_GIT_FILES the project's `.git` folder holds now. */
export function plantableGitFiles(root: string): Set<string> {
  const present = new Set<string>();
  for (const name of PLANTABLE_GIT_FILES) {
    try {
      fs.lstatSync(path.join(root, '.git', name));
      present.add(name);
    } catch {
      // absent, or no .git folder
    }
  }
  return present;
}

/** Removes the PLANTABLE_GIT_FILES that were not there `before`; returns their `.git/` paths. */
export function removePlantedGitFiles(root: string, before: ReadonlySet<string>): string[] {
  const removed: string[] = [];
  for (const name of plantableGitFiles(root)) {
    if (before.has(name)) continue;
    fs.rmSync(path.join(root, '.git', name), { recursive: true, force: true });
    removed.push(`.git/${name}`);
  }
  return removed;
}

/**
 * Makes sure the repository paths bwrap binds read-only exist, so that a command cannot create
 * `.git/hooks` where there was none: call before building a command's arguments.
 */
export function prepareGitMounts(root: string): void {
  const dotGit = path.join(root, '.git');
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dotGit);
  } catch {
    return;
  }
  if (!stat.isDirectory()) return;
  for (const name of ['hooks', 'info']) {
    try {
      fs.mkdirSync(path.join(dotGit, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

function mountSystem(args: string[], dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch {
    return;
  }
  // /bin → usr/bin on merged-/usr systems: the same link inside, not a second mount
  if (stat.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(dir), dir);
  else if (stat.isDirectory()) args.push('--ro-bind', dir, dir);
}

function ensureMountFolder(target: string): void {
  let stat: fs.Stats | null = null;
  try {
    stat = fs.lstatSync(target);
  } catch {
    stat = null;
  }
  if (stat?.isDirectory()) return;
  if (stat !== null) fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
}

function hidePath(args: string[], place: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(place);
  } catch {
    return;
  }
  if (stat.isDirectory()) args.push('--tmpfs', place);
  // an empty file in place of it; never bind over /dev/null itself (it is /dev's, and fresh)
  else args.push('--ro-bind', '/dev/null', place);
}

/**
 * bwrap's arguments before `--`, an allowlist: every namespace unshared (no network unless
 * asked), no capabilities (as root, uid 65534 in a user namespace of its own), the system
 * folders and AGENT_SANDBOX_READ read-only, a private /tmp, a fresh /dev and /proc (so the
 * worker's /proc/PID/environ is not visible), the project read-write but its `.git/config`,
 * hooks, info and modules read-only, the environment cleared to `env`. Nothing else of the host
 * exists inside: no home folder, no PM2 home and no socket under /run to connect to.
 *
 * No `--new-session`: the command is already the leader of a new session without a terminal
 * (spawned `detached`), which is what `--new-session` protects against (TIOCSTI), and a further
 * setsid inside would take the command out of the process group the worker kills.
 */
export function bwrapArgs(options: BwrapOptions): string[] {
  const policy = options.policy ?? defaultSandboxPolicy();
  const args = ['--die-with-parent', '--unshare-all'];
  if (policy.asRoot) args.push('--unshare-user', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID));
  args.push('--cap-drop', 'ALL');
  if (options.network) args.push('--share-net');
  for (const dir of policy.system) mountSystem(args, dir);
  // a checkout under /opt, say: its secrets are hidden again before anything else is mounted
  for (const place of hiddenUnder(policy)) hidePath(args, place);
  for (const dir of policy.extraRead) args.push('--ro-bind', dir, dir);
  if (options.network) {
    // /etc/resolv.conf often links into /run, which is not mounted: only the file itself is
    const resolver = realAbsolute('/etc/resolv.conf');
    if (resolver !== '/etc/resolv.conf' && !resolver.startsWith('/etc/'))
      args.push('--ro-bind-try', resolver, resolver);
  }
  args.push('--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp');
  args.push('--bind', options.root, options.root);
  const dotGit = path.join(options.root, '.git');
  let gitStat: fs.Stats | undefined;
  try {
    gitStat = fs.lstatSync(dotGit);
  } catch {
    gitStat = undefined;
  }
  if (gitStat?.isDirectory()) {
    // `.git` a mount point of its own: it cannot be renamed away and replaced by a copy whose
    // config and hooks are writable
    args.push('--bind', dotGit, dotGit);
    for (const name of READ_ONLY_GIT_PATHS) {
      const p = path.join(dotGit, name);
      if (fs.existsSync(p)) args.push('--ro-bind', p, p);
    }
  } else if (gitStat !== undefined) {
    // a `gitdir:` file (a worktree or submodule): it may not be pointed elsewhere
    args.push('--ro-bind', dotGit, dotGit);
  }
  for (const read of policy.projectReads[options.root] ?? []) {
    // the mount point must be a folder of the project's own: a link put there would lead it elsewhere
    ensureMountFolder(read.target);
    args.push('--ro-bind', read.source, read.target);
  }
  args.push('--chdir', options.root, '--clearenv');
  for (const [name, value] of Object.entries(options.env)) args.push('--setenv', name, value);
  return args;
}

/** The least sandbox a command gets: whether bwrap can set up namespaces and mounts here at all. */
export const BWRAP_WORKS_ARGS: readonly string[] = [
  '--unshare-all',
  '--cap-drop',
  'ALL',
  '--ro-bind',
  '/',
  '/',
  '--dev',
  '/dev',
  '--proc',
  '/proc',
  '--tmpfs',
  '/tmp',
];

const detections = new Map<string, Promise<string | null>>();

/** How long the bwrap probe may take before it counts as not working. */
const PROBE_TIMEOUT_MS = 5000;

/**
 * The bwrap on PATH if it actually sandboxes here (user namespaces may be disabled, or a
 * container may forbid mounts), else null: runs `true` in the least a command gets. Cached
 * per PATH.
 */
export function detectBwrap(pathVar: string | undefined = process.env.PATH): Promise<string | null> {
  const key = pathVar ?? '';
  const cached = detections.get(key);
  if (cached) return cached;
  const bwrap = findOnPath('bwrap', pathVar);
  const probe =
    bwrap === null
      ? Promise.resolve(null)
      : runProbe(bwrap, [...BWRAP_WORKS_ARGS, '--', 'true']).then((result) => (result.ok ? bwrap : null));
  detections.set(key, probe);
  return probe;
}

/** What a probe run said. */
export interface ProbeResult {
  readonly ok: boolean;
  /** bwrap's or the shell's complaint, when not ok. */
  readonly error: string;
}

function runProbe(file: string, args: readonly string[]): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ok: false, error: `no answer within ${PROBE_TIMEOUT_MS} ms` });
    }, PROBE_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, error: error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, error: Buffer.concat(err).toString('utf8').trim() || `exit code ${code}` });
    });
  });
}

/**
 * Runs a command with the exact mounts and environment a command gets, in `root` (a scratch
 * project with a `.git` like a real one): the shell starts, `/dev/null` can be written, the
 * project is writable and `.git/config` is not. A policy that fails here would fail every command.
 */
export function probePolicy(
  decision: SandboxDecision & { kind: 'bwrap' },
  root: string,
): Promise<ProbeResult> {
  fs.mkdirSync(path.join(root, '.git'), { recursive: true });
  const config = path.join(root, '.git', 'config');
  if (!fs.existsSync(config)) fs.writeFileSync(config, '');
  prepareGitMounts(root);
  const env = commandEnv(process.env, root);
  const check = 'echo probe > /dev/null && : > .probe && rm .probe && ! (: >> .git/config) 2>/dev/null';
  return runProbe(decision.bwrap, [
    ...bwrapArgs({ root, env, policy: decision.policy }),
    '--',
    shellPath(),
    '-c',
    check,
  ]);
}

/** How commands run under `mode` on this machine (detection cached). */
export async function resolveSandbox(
  mode: SandboxMode,
  pathVar: string | undefined = process.env.PATH,
  policy?: SandboxPolicy,
): Promise<SandboxDecision> {
  return decideSandbox(mode, mode === 'off' ? null : await detectBwrap(pathVar), policy, inContainer());
}
