// Preparing a release of project self, before anyone is asked: what changed since the running
// revision (refused at once when it touches what a self-release may not), then the build and the
// checks in the sandbox, bounded in time, then the built worker copied to where no command
// reaches. The worker's git on the project is the hardened one every project gets.
import fs from 'node:fs';
import path from 'node:path';
import type { CheckSummary } from '../shared/contracts';
import { runCommand } from '../workspace/exec';
import { gitText, type GitOptions, runGit } from '../workspace/git-runner';
import type { SandboxDecision } from '../workspace/sandbox';
import { destructiveStatement, protectedChange } from './rules';

/** What preparing needs. */
export interface PrepareDeps {
  readonly sandbox: SandboxDecision;
  readonly git: GitOptions;
  /** SELF_RELEASE_CHECK. */
  readonly check: string;
  /** SELF_RELEASE_SECONDS, for the build and the checks together. */
  readonly timeoutMs: number;
  /** Where the build and check outputs are written. */
  readonly outputDir: string;
  readonly signal?: AbortSignal;
}

/** What changed in project self since the running revision. */
export interface ReleaseChanges {
  readonly head: string;
  readonly base: string;
  /** `git log --oneline`, newest first (at most 20 lines, then a count of the rest). */
  readonly commits: readonly string[];
  readonly commitCount: number;
  /** `git diff --stat`'s lines. */
  readonly stat: string;
  readonly files: readonly string[];
}

/** Why a release is refused before anything runs, or what changed. */
export type ChangesVerdict =
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'ok'; readonly changes: ReleaseChanges };

const MAX_COMMITS_SHOWN = 20;

/**
 * What changed between `base` (the running revision's commit, else where the clone began) and
 * HEAD, and whether a self-release may ship it: uncommitted changes, no change at all, a change to
 * a protected file, an edited or removed migration, or a new one that takes something away are
 * each refused with the reason.
 */
export async function inspectChanges(
  root: string,
  base: string | null,
  git: GitOptions,
): Promise<ChangesVerdict> {
  const head = await gitText(root, ['rev-parse', '--verify', 'HEAD^{commit}'], {}, git);
  const dirty = await gitText(root, ['status', '--porcelain', '--untracked-files=no'], {}, git);
  if (dirty !== '') {
    return {
      kind: 'refused',
      reason: `project self has changes that are not committed (${dirty.split('\n').length} files): a run commits its changes; /undo or a run that commits them, then /release again`,
    };
  }
  if (base === null || !(await hasCommit(root, base, git))) {
    return {
      kind: 'refused',
      reason:
        'what the running revision was built from is unknown in project self, so its changes cannot be shown',
    };
  }
  if (base === head)
    return { kind: 'refused', reason: 'project self has no commits since the running revision' };
  const nameStatus = await gitText(root, ['diff', '--no-renames', '--name-status', base, head], {}, git);
  const entries = nameStatus
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [status = '', ...rest] = l.split('\t');
      return { status, file: rest.join('\t') };
    });
  const files = entries.map((e) => e.file);
  const protectedWhy = protectedChange(files);
  if (protectedWhy !== null) return { kind: 'refused', reason: protectedWhy };
  for (const { status, file } of entries) {
    if (!/^drizzle\/[^/]+\.sql$/.test(file)) continue;
    if (status !== 'A') {
      return {
        kind: 'refused',
        reason: `it ${status === 'D' ? 'removes' : 'edits'} the migration ${file}, which the database has applied`,
      };
    }
    const sql = await gitText(root, ['show', `${head}:${file}`], {}, git);
    const what = destructiveStatement(sql);
    if (what !== null) {
      return {
        kind: 'refused',
        reason: `its new migration ${file} ${what}, which the running revision uses (a rollback keeps the newer schema)`,
      };
    }
  }
  const log = await gitText(root, ['log', '--oneline', '--no-decorate', `${base}..${head}`], {}, git);
  const commits = log.split('\n').filter((l) => l !== '');
  const stat = await gitText(root, ['diff', '--stat=72', base, head], {}, git);
  return {
    kind: 'ok',
    changes: {
      head,
      base,
      commits: commits.slice(0, MAX_COMMITS_SHOWN),
      commitCount: commits.length,
      stat,
      files,
    },
  };
}

async function hasCommit(root: string, commit: string, git: GitOptions): Promise<boolean> {
  if (!/^[0-9a-f]{7,64}$/.test(commit)) return false;
  const out = await runGit(root, ['cat-file', '-e', `${commit}^{commit}`], { okCodes: [1, 128] }, git);
  return out.code === 0;
}

/** The build command: the worker from a clean `dist/`, as `npm run build` makes it. */
export const BUILD_COMMAND = 'rm -rf dist && node node_modules/typescript/bin/tsc -p tsconfig.build.json';

/** How the build and checks went. */
export interface BuildResult {
  /** Null when the build failed (then `checks.passed` is false too). */
  readonly built: boolean;
  readonly checks: CheckSummary;
  /** The last lines of the failing command's output, for the person. */
  readonly tail: string;
}

/** Builds and runs the checks in project self, in the sandbox, within the time limit together. */
export async function buildAndCheck(root: string, id: number, deps: PrepareDeps): Promise<BuildResult> {
  const started = Date.now();
  const run = (command: string, name: string, timeoutMs: number) =>
    runCommand({
      command,
      root,
      outputPath: path.join(deps.outputDir, `self-release-${id}-${name}.log`),
      timeoutMs: Math.max(1000, timeoutMs),
      sandbox: deps.sandbox,
      signal: deps.signal,
    });
  const build = await run(BUILD_COMMAND, 'build', deps.timeoutMs);
  const secondsSince = (): number => Math.round((Date.now() - started) / 100) / 10;
  if (build.exitCode !== 0) {
    return {
      built: false,
      tail: build.startError ?? build.tail,
      checks: {
        passed: false,
        command: BUILD_COMMAND,
        exitCode: build.exitCode,
        timedOut: build.timedOut,
        seconds: secondsSince(),
        tests: null,
      },
    };
  }
  const check = await run(deps.check, 'check', deps.timeoutMs - (Date.now() - started));
  return {
    built: true,
    tail: check.startError ?? check.tail,
    checks: {
      passed: check.exitCode === 0 && !check.timedOut,
      command: deps.check,
      exitCode: check.exitCode,
      timedOut: check.timedOut,
      seconds: secondsSince(),
      tests: testCounts(check.tail),
    },
  };
}

/** Jest's counts (`Tests: 1 failed, 2 skipped, 40 passed, 43 total`) from an output, or null. */
export function testCounts(output: string): CheckSummary['tests'] {
  const lines = output.split('\n').filter((l) => /^\s*Tests:\s/.test(l));
  const line = lines[lines.length - 1];
  if (line === undefined) return null;
  const count = (what: string): number => Number(new RegExp(`(\\d+) ${what}`).exec(line)?.[1] ?? 0);
  const total = count('total');
  if (total === 0 && !/0 total/.test(line)) return null;
  return { passed: count('passed'), failed: count('failed'), total };
}

/** The checks in a sentence: "passed in 42 s: 40 of 43 tests passed". */
export function describeChecks(checks: CheckSummary): string {
  const tests =
    checks.tests === null
      ? ''
      : `: ${checks.tests.passed} of ${checks.tests.total} tests passed${checks.tests.failed > 0 ? `, ${checks.tests.failed} failed` : ''}`;
  if (checks.passed) return `passed in ${checks.seconds} s${tests}`;
  const how = checks.timedOut
    ? `ran out of time after ${checks.seconds} s`
    : `failed (exit ${checks.exitCode ?? 'by a signal'}) after ${checks.seconds} s`;
  return `${how}${tests}`;
}

/**
 * Copies the built worker (`dist/`, `drizzle/`) out of the project into `target`, where no command
 * reaches: only folders and regular files, each opened without following a link, so nothing a
 * command planted there (a link to the env file, a FIFO) is copied or followed. Throws a sentence.
 */
export function copyBuild(root: string, target: string): void {
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  for (const name of ['dist', 'drizzle']) copyTree(path.join(root, name), path.join(target, name), name);
}

function copyTree(from: string, to: string, shown: string): void {
  const stat = fs.lstatSync(from);
  if (!stat.isDirectory()) throw new Error(`${shown} in project self is not a folder.`);
  fs.mkdirSync(to, { mode: 0o700 });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const dest = path.join(to, entry.name);
    const what = `${shown}/${entry.name}`;
    if (entry.isDirectory()) copyTree(source, dest, what);
    else if (entry.isFile()) copyFile(source, dest, what);
    else
      throw new Error(
        `${what} in project self is neither a file nor a folder (a link?): it is not released.`,
      );
  }
}

function copyFile(source: string, dest: string, shown: string): void {
  let fd: number;
  try {
    fd = fs.openSync(source, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new Error(`${shown} in project self cannot be read (${(err as NodeJS.ErrnoException).code}).`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new Error(`${shown} in project self is not a regular file.`);
    fs.writeFileSync(dest, fs.readFileSync(fd), { mode: 0o600 });
  } finally {
    fs.closeSync(fd);
  }
}
