// The sandbox of the agent's commands: whether to use bubblewrap (a pure decision on
// AGENT_SANDBOX and whether bwrap works here), the detection of a working bwrap, the command's
// environment allowlist and the bwrap argument list.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** `AGENT_SANDBOX`: `auto` uses bwrap when it works, `bwrap` requires it, `off` never uses it. */
export type SandboxMode = 'auto' | 'bwrap' | 'off';

export const SANDBOX_MODES: readonly SandboxMode[] = ['auto', 'bwrap', 'off'];

/** How commands will run, with the sentence `/status`, `doctor` and the start log show. */
export type SandboxDecision =
  | { readonly kind: 'bwrap'; readonly sandboxed: true; readonly note: string; readonly bwrap: string }
  | { readonly kind: 'plain'; readonly sandboxed: false; readonly note: string }
  | { readonly kind: 'refuse'; readonly sandboxed: false; readonly note: string };

/** Picks how commands run from the mode and the working bwrap found (null: none). */
export function decideSandbox(mode: SandboxMode, bwrap: string | null): SandboxDecision {
  if (mode === 'off') {
    return { kind: 'plain', sandboxed: false, note: 'commands run unsandboxed (AGENT_SANDBOX=off)' };
  }
  if (bwrap !== null) {
    return {
      kind: 'bwrap',
      sandboxed: true,
      bwrap,
      note: 'commands run in bubblewrap: read-only system but the project, no network',
    };
  }
  if (mode === 'bwrap') {
    return {
      kind: 'refuse',
      sandboxed: false,
      note: 'AGENT_SANDBOX=bwrap but bwrap is missing or does not work here: install bubblewrap (Debian package bubblewrap) or set AGENT_SANDBOX=auto',
    };
  }
  return {
    kind: 'plain',
    sandboxed: false,
    note: 'commands run unsandboxed: bwrap is missing or does not work here (install bubblewrap)',
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
 * The whole environment of an agent's command: PATH, HOME (the project), LANG, TZ. Nothing else
 * of the worker's environment, so neither the bot token nor the API key can reach a command.
 */
export function commandEnv(
  source: Readonly<Record<string, string | undefined>>,
  root: string,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: source.PATH || DEFAULT_PATH,
    HOME: root,
    LANG: source.LANG || 'C.UTF-8',
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
  /** `bash {network: true}`: keep the host's network. */
  readonly network?: boolean;
  /**
   * Paths hidden from the command although the system is readable: a folder becomes an empty
   * tmpfs, a file /dev/null. The worker passes its env file and state folder (the database).
   */
  readonly hide?: readonly string[];
}

/**
 * bwrap's arguments before `--`: every namespace unshared (no network unless asked), `/`
 * read-only, the project read-write, a private /tmp, a fresh /dev and /proc (so the worker's
 * /proc/PID/environ is not visible), the environment cleared to `env`.
 *
 * No `--new-session`: the command is already the leader of a new session without a terminal
 * (spawned `detached`), which is what `--new-session` protects against (TIOCSTI), and a further
 * setsid inside would take the command out of the process group the worker kills.
 */
export function bwrapArgs(options: BwrapOptions): string[] {
  const args = ['--die-with-parent', '--unshare-all'];
  if (options.network) args.push('--share-net');
  args.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp');
  for (const hidden of options.hide ?? []) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(hidden);
    } catch {
      continue; // nothing to hide
    }
    if (hidden === '/tmp' || hidden.startsWith('/tmp/')) continue; // already private
    if (stat.isDirectory()) args.push('--tmpfs', hidden);
    else args.push('--ro-bind', '/dev/null', hidden);
  }
  args.push('--bind', options.root, options.root, '--chdir', options.root, '--clearenv');
  for (const [name, value] of Object.entries(options.env)) args.push('--setenv', name, value);
  return args;
}

const detections = new Map<string, Promise<string | null>>();

/** How long the bwrap probe may take before it counts as not working. */
const PROBE_TIMEOUT_MS = 5000;

/**
 * The bwrap on PATH if it actually sandboxes here (user namespaces may be disabled, or a
 * container may forbid mounts), else null: runs `true` with the same flags as a command. Cached
 * per PATH.
 */
export function detectBwrap(pathVar: string | undefined = process.env.PATH): Promise<string | null> {
  const key = pathVar ?? '';
  const cached = detections.get(key);
  if (cached) return cached;
  const probe = probeBwrap(findOnPath('bwrap', pathVar));
  detections.set(key, probe);
  return probe;
}

function probeBwrap(bwrap: string | null): Promise<string | null> {
  if (bwrap === null) return Promise.resolve(null);
  return new Promise((resolve) => {
    const root = fs.realpathSync(process.cwd());
    const args = [...bwrapArgs({ root, env: { PATH: DEFAULT_PATH } }), '--', shellPath(), '-c', 'true'];
    const child = spawn(bwrap, args, { stdio: 'ignore' });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, PROBE_TIMEOUT_MS);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? bwrap : null);
    });
  });
}

/** How commands run under `mode` on this machine (detection cached). */
export async function resolveSandbox(
  mode: SandboxMode,
  pathVar: string | undefined = process.env.PATH,
): Promise<SandboxDecision> {
  return decideSandbox(mode, mode === 'off' ? null : await detectBwrap(pathVar));
}
