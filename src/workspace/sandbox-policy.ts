// What a sandboxed command may see, as an allowlist: the system folders programs need, read-only,
// and the folders the operator adds (AGENT_SANDBOX_READ); nothing else of the host is mounted, so
// the home folder, PM2's home and its sockets, /run, the checkout, the state folder and the env
// file are simply absent. The worker's own places are also kept as "protected": hidden again
// where a readable folder holds them (a checkout under /opt), and refused as or around a project.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { envFilePath } from '../shared/env';
import { isInside } from './paths';

/** The system folders every command sees read-only (those that exist here). */
export const SYSTEM_READ_PATHS: readonly string[] = [
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/etc',
  '/opt',
];

/** The user id commands run as inside their user namespace when the worker is root ("nobody"). */
export const SANDBOX_UID = 65534;

/** The worker's own places, which no command may see and no project may hold or lie in. */
export interface ProtectedPaths {
  /** The folder of the database, the runs' outputs and (by default) the workspaces. */
  readonly stateDir: string;
  /** The env file the secrets may come from. */
  readonly envFile: string;
  /** AUTONOUS_HOME: the checkout the worker runs from. */
  readonly checkout: string;
  /** PM2's home (`PM2_HOME`, default ~/.pm2): its sockets start processes outside any sandbox. */
  readonly pm2Home: string;
  /** The worker user's home folder: shell history, rc files, keys. */
  readonly home: string;
}

/** How bwrap mounts a command's world, every path absolute and real. */
export interface SandboxPolicy {
  /** System folders mounted read-only (a top-level symlink such as /bin → usr/bin is kept a symlink). */
  readonly system: readonly string[];
  /** AGENT_SANDBOX_READ: further folders mounted read-only. */
  readonly extraRead: readonly string[];
  /** The protected places, real. */
  readonly protect: ProtectedPaths;
  /** The worker runs as root: commands run as SANDBOX_UID in a user namespace of their own. */
  readonly asRoot: boolean;
  /**
   * Folders a project's commands also read, mounted read-only inside it, by the project's real
   * path: project self gets the checkout's `node_modules` (and nothing else of the checkout).
   */
  readonly projectReads: Readonly<Record<string, readonly ProjectRead[]>>;
}

/** A folder mounted read-only inside one project. */
export interface ProjectRead {
  readonly source: string;
  /** Inside the project. */
  readonly target: string;
}

/**
 * The real absolute form of `p`: symlinks resolved as far as the path exists, the missing rest
 * appended, so `~/.env` as a link, a relative AUTONOUS_ENV_FILE or a linked checkout name the
 * place bwrap actually sees.
 */
export function realAbsolute(p: string): string {
  const abs = path.resolve(p);
  try {
    return fs.realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realAbsolute(parent), path.basename(abs));
  }
}

/** PM2's home as PM2 finds it: `PM2_HOME`, else `~/.pm2`. */
export function pm2HomeOf(env: Readonly<Record<string, string | undefined>>): string {
  const given = env.PM2_HOME?.trim();
  return given ? path.resolve(given) : path.join(os.homedir(), '.pm2');
}

/** The policy of this machine: the system folders that exist, `extraRead`, the protected places made real. */
export function sandboxPolicy(options: {
  readonly extraRead?: readonly string[];
  readonly protect: ProtectedPaths;
  readonly asRoot?: boolean;
  readonly projectReads?: Readonly<Record<string, readonly ProjectRead[]>>;
}): SandboxPolicy {
  const p = options.protect;
  return {
    system: SYSTEM_READ_PATHS.filter((dir) => fs.existsSync(dir)),
    extraRead: (options.extraRead ?? []).map(realAbsolute),
    protect: {
      stateDir: realAbsolute(p.stateDir),
      envFile: realAbsolute(p.envFile),
      checkout: realAbsolute(p.checkout),
      pm2Home: realAbsolute(p.pm2Home),
      home: realAbsolute(p.home),
    },
    asRoot: options.asRoot ?? process.getuid?.() === 0,
    projectReads: Object.fromEntries(
      Object.entries(options.projectReads ?? {}).map(([root, reads]) => [
        realAbsolute(root),
        // the target's folder made real, never the target: a link planted there would carry the
        // mount (and the folder made for it) wherever it points
        reads.map((r) => ({
          source: realAbsolute(r.source),
          target: path.join(realAbsolute(path.dirname(r.target)), path.basename(r.target)),
        })),
      ]),
    ),
  };
}

/** The protected places as [what, path] pairs, for messages. */
function named(protect: ProtectedPaths): [string, string][] {
  return [
    ['the state folder', protect.stateDir],
    ['the env file', protect.envFile],
    ['the checkout (AUTONOUS_HOME)', protect.checkout],
    ['PM2 home', protect.pm2Home],
  ];
}

/**
 * Which protected place `folder` holds, as a clause for a message, or null: a folder mounted
 * read-write into commands may not hold the state folder, the env file, the checkout, PM2's home
 * or the home folder.
 */
export function heldProtectedPlace(folder: string, protect: ProtectedPaths): string | null {
  const real = realAbsolute(folder);
  for (const [what, place] of [...named(protect), ['the home folder', protect.home] as [string, string]]) {
    if (isInside(real, place)) return `${real} holds ${what} (${place})`;
  }
  return null;
}

/**
 * Why `folder` cannot be a project of AGENT_PROJECTS, or null: it may not hold a protected place
 * (heldProtectedPlace), nor lie inside the state folder or the checkout (the code the worker runs:
 * a change there would run unsandboxed at the next start).
 */
export function projectFolderError(folder: string, protect: ProtectedPaths): string | null {
  const held = heldProtectedPlace(folder, protect);
  if (held !== null) return held;
  const real = realAbsolute(folder);
  if (isInside(protect.stateDir, real)) return `${real} lies inside the state folder (${protect.stateDir})`;
  if (isInside(protect.checkout, real)) return `${real} lies inside the checkout (${protect.checkout})`;
  return null;
}

/**
 * Why `folder` cannot be an AGENT_SANDBOX_READ path, or null: it may neither hold nor lie inside
 * the state folder, the env file, the checkout or PM2's home.
 */
export function readFolderError(folder: string, protect: ProtectedPaths): string | null {
  const real = realAbsolute(folder);
  for (const [what, place] of named(protect)) {
    if (isInside(real, place)) return `${real} holds ${what} (${place})`;
    if (isInside(place, real)) return `${real} lies inside ${what} (${place})`;
  }
  return null;
}

/** The protected places to hide again because a system folder holds them (a checkout under /opt). */
export function hiddenUnder(policy: SandboxPolicy): string[] {
  const places = [...named(policy.protect).map(([, p]) => p), policy.protect.home];
  return places.filter((place) => policy.system.some((dir) => dir !== place && isInside(dir, place)));
}

/** The mount policy in a few lines, for `doctor` and the start log. */
export function describePolicy(policy: SandboxPolicy): string {
  const read = [...policy.system, ...policy.extraRead].join(', ');
  const lines = [
    `read-only: ${read}; read-write: the project (its .git/config, hooks and info read-only); a private /tmp, fresh /dev and /proc`,
    'not mounted: the home folder, PM2 home, /run, /var, the checkout, the state folder, the env file; no capabilities, no network unless approved',
  ];
  for (const [root, reads] of Object.entries(policy.projectReads)) {
    for (const read of reads) lines.push(`also read-only in ${root}: ${read.source} at ${read.target}`);
  }
  if (policy.asRoot) lines.push(rootWarning());
  return lines.join('\n');
}

/** The sentence for a worker running as root. */
export function rootWarning(): string {
  return `the worker runs as root: commands run as uid ${SANDBOX_UID} in their own user namespace without capabilities, but run the worker as an ordinary user where you can`;
}

/**
 * The policy when the caller has no configuration (tests, tools run alone): this process's home,
 * PM2 home, env file and its working folder as the checkout with `state/` in it.
 */
export function defaultSandboxPolicy(): SandboxPolicy {
  const checkout = process.cwd();
  return sandboxPolicy({
    protect: {
      stateDir: path.join(checkout, 'state'),
      envFile: envFilePath(process.env),
      checkout,
      pm2Home: pm2HomeOf(process.env),
      home: os.homedir(),
    },
  });
}
