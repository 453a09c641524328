// Runs one agent command in the project folder without ever blocking the worker: the command is
// the leader of its own process group (so a timeout or /stop kills everything it started), its
// output streams through pipes to a file in the run's folder, and only a bounded tail stays in
// memory. The environment is the allowlist of sandbox.ts, never the worker's.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { OutputTail } from './output-tail';
import { groupGone, signalGroup } from './process-group';
import {
  bwrapArgs,
  commandEnv,
  plantableGitFiles,
  prepareGitMounts,
  removePlantedGitFiles,
  type SandboxDecision,
  shellPath,
} from './sandbox';

/** What to run, where, and for how long. */
export interface ExecOptions {
  readonly command: string;
  /** The project folder (real path): the command's cwd and HOME, the only writable place in bwrap. */
  readonly root: string;
  /** Where the whole output is written (its folder is created). */
  readonly outputPath: string;
  readonly timeoutMs: number;
  /** How commands run here (resolveSandbox); `refuse` runs nothing. */
  readonly sandbox: SandboxDecision;
  readonly signal?: AbortSignal;
  /** bwrap keeps the host's network (`bash {network: true}`). */
  readonly network?: boolean;
  /**
   * HOME of an unsandboxed command: a folder outside the project (created), so that what the
   * agent writes into the project (a `.gitconfig`, an rc file) configures nothing it runs.
   * In bwrap HOME is the project, the one place a command can write.
   */
  readonly home?: string;
  /** Source of PATH, LANG, TZ (default process.env); nothing else of it is passed on. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Between SIGTERM and SIGKILL of the group (default 1000 ms). */
  readonly killGraceMs?: number;
  /** Called every `progressMs` (default 1000) with the time the command has run. */
  readonly onProgress?: (elapsedMs: number) => void;
  readonly progressMs?: number;
  /** Called once the command started, with its pid (= its process group id). */
  readonly onStart?: (pid: number) => void;
}

/** How a command ended. */
export interface ExecResult {
  /** Exit code, or null when a signal ended it (see `signal`) or it never started. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly durationMs: number;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** Last lines of stdout and stderr together, as they came (at most 2000 lines / 50 KB). */
  readonly tail: string;
  /** Output before the tail was left out of it. */
  readonly tailTruncated: boolean;
  /** Bytes the command printed. */
  readonly totalBytes: number;
  readonly outputPath: string;
  /** The process group it ran as (its leader's pid); null when it never started. */
  readonly pid: number | null;
  /** Whether it ran in bwrap. */
  readonly sandboxed: boolean;
  /** The command could not start (bwrap refused by configuration, spawn failure): why. */
  readonly startError?: string;
  /** Files the command planted in `.git` to lead git elsewhere, removed after it (sandbox.ts). */
  readonly removedGitFiles?: readonly string[];
}

/** The output file stops growing here (the tail still follows the output); a runaway cannot fill the disk. */
export const MAX_OUTPUT_FILE_BYTES = 100 * 1024 * 1024;

/** After the shell exited, how long to wait for pipes that an escaped process holds open. */
const DRAIN_AFTER_EXIT_MS = 500;

/** Runs `command` in `root`; resolves when it ended, its group is gone and its output file is complete (rejects only if the output file cannot be created). */
export async function runCommand(options: ExecOptions): Promise<ExecResult> {
  const started = performance.now();
  const sandboxed = options.sandbox.kind === 'bwrap';
  const base = {
    signal: null,
    timedOut: false,
    tail: '',
    tailTruncated: false,
    totalBytes: 0,
    outputPath: options.outputPath,
    pid: null,
    sandboxed,
  };
  fs.mkdirSync(path.dirname(options.outputPath), { recursive: true });
  if (options.sandbox.kind === 'refuse') {
    fs.writeFileSync(options.outputPath, '');
    return { ...base, exitCode: null, durationMs: 0, aborted: false, startError: options.sandbox.note };
  }
  if (options.signal?.aborted) {
    fs.writeFileSync(options.outputPath, '');
    return { ...base, exitCode: null, durationMs: 0, aborted: true };
  }

  const sandbox = options.sandbox;
  let home = options.root;
  let gitFilesBefore: ReadonlySet<string> | null = null;
  if (sandbox.kind === 'bwrap') {
    prepareGitMounts(options.root);
    gitFilesBefore = plantableGitFiles(options.root);
  } else if (options.home !== undefined) {
    fs.mkdirSync(options.home, { recursive: true, mode: 0o700 });
    home = options.home;
  }
  const env = commandEnv(options.env ?? process.env, options.root, home);
  const shell = shellPath();
  const [file, args] =
    sandbox.kind === 'bwrap'
      ? [
          sandbox.bwrap,
          [
            ...bwrapArgs({ root: options.root, env, network: options.network, policy: sandbox.policy }),
            '--',
            shell,
            '-c',
            options.command,
          ],
        ]
      : [shell, ['-c', options.command]];

  const out = fs.createWriteStream(options.outputPath);
  const tail = new OutputTail();
  let written = 0;
  let fileCapped = false;

  return new Promise<ExecResult>((resolve) => {
    const child = spawn(file, args, {
      cwd: options.root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let timedOut = false;
    let aborted = false;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let startError: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;
    let closed = false;
    let groupDone = false;
    if (child.pid !== undefined) options.onStart?.(child.pid);

    const killAll = (): void => {
      if (child.pid === undefined) return;
      signalGroup(child.pid, 'SIGTERM');
      const pid = child.pid;
      killTimer ??= setTimeout(() => signalGroup(pid, 'SIGKILL'), options.killGraceMs ?? 1000);
    };
    const timeout = setTimeout(() => {
      timedOut = true;
      killAll();
    }, options.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      killAll();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const progress = options.onProgress
      ? setInterval(() => options.onProgress?.(performance.now() - started), options.progressMs ?? 1000)
      : undefined;

    const onData = (chunk: Buffer): void => {
      tail.push(chunk);
      if (fileCapped) return;
      if (written + chunk.length > MAX_OUTPUT_FILE_BYTES) {
        fileCapped = true;
        out.write(chunk.subarray(0, MAX_OUTPUT_FILE_BYTES - written));
        out.write(`\n[output file stopped at ${MAX_OUTPUT_FILE_BYTES} bytes; the command went on]\n`);
        written = MAX_OUTPUT_FILE_BYTES;
        return;
      }
      written += chunk.length;
      // A disk slower than the command pauses the command (the pipe fills), not the worker.
      if (!out.write(chunk)) {
        child.stdout?.pause();
        child.stderr?.pause();
        out.once('drain', () => {
          child.stdout?.resume();
          child.stderr?.resume();
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);

    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      clearTimeout(drainTimer);
      // The exit handler already sent SIGKILL to what was left of the group.
      clearTimeout(killTimer);
      if (progress) clearInterval(progress);
      options.signal?.removeEventListener('abort', onAbort);
      const durationMs = performance.now() - started;
      const removedGitFiles =
        gitFilesBefore === null ? [] : removePlantedGitFiles(options.root, gitFilesBefore);
      out.end(() => {
        const { text, truncated } = tail.read();
        resolve({
          exitCode: exited?.code ?? null,
          signal: exited?.signal ?? null,
          durationMs,
          timedOut,
          aborted,
          tail: text,
          tailTruncated: truncated,
          totalBytes: tail.total,
          outputPath: options.outputPath,
          pid: child.pid ?? null,
          sandboxed,
          ...(startError ? { startError } : {}),
          ...(removedGitFiles.length > 0 ? { removedGitFiles } : {}),
        });
      });
    };

    child.on('error', (err) => {
      startError = `the command could not start: ${err.message}`;
      finish();
    });
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      // What the command left running in its group (`server &`) ends with it: nothing the agent
      // starts outlives its step, and the result is only given once the group is gone.
      const pid = child.pid as number;
      signalGroup(pid, 'SIGKILL');
      void groupGone(pid).then(() => {
        groupDone = true;
        if (closed) return finish();
        drainTimer = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish();
        }, DRAIN_AFTER_EXIT_MS);
      });
    });
    child.on('close', () => {
      closed = true;
      // Without an exit event the spawn failed; else wait for the group to be gone.
      if (exited === null || groupDone) finish();
    });
  });
}
