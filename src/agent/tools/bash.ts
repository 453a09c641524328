// `bash {command, timeout_seconds?, network?}`: a shell command in the project folder, through
// the workspace's exec (own process group, allowlisted env, bwrap when it works).
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { seconds } from '../../shared/seconds';
import { runCommand, type ExecResult } from '../../workspace/exec';
import { neutralizeNestedRepos } from '../../workspace/nested-repos';
import { forgetGroup, markerFor, recordGroup } from '../../workspace/orphans';
import type { SandboxDecision } from '../../workspace/sandbox';
import { describeCommand } from '../describe-call';
import type { Tool, ToolContext, ToolResult } from '../ports';
import { commandRisks } from './risk';
import { argsObject, failure, guarded, optionalBoolean, optionalPositive, requiredString } from './args';

export const BASH_DEFAULT_TIMEOUT_SECONDS = 120;
export const BASH_MAX_TIMEOUT_SECONDS = 600;

/** How `bash` runs its commands; the worker decides it once at start. */
export interface BashOptions {
  readonly sandbox: SandboxDecision;
  /** Source of PATH, LANG, TZ (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly killGraceMs?: number;
  /** Time limit of each git call that checks nested repositories after a command. */
  readonly gitTimeoutMs?: number;
}

/** The exit code a shell would report: the code, or 128 + the signal's number. */
export function shellExitCode(result: Pick<ExecResult, 'exitCode' | 'signal'>): number | undefined {
  if (result.exitCode !== null) return result.exitCode;
  if (result.signal !== null) return 128 + (os.constants.signals[result.signal] ?? 0);
  return undefined;
}

/** The result text: exit code, timeout, the tail and where the whole output is. */
export function describeRun(
  result: ExecResult & { readonly neutralized?: readonly string[] },
  timeoutSeconds: number,
  cappedFrom?: number,
): string {
  const code = shellExitCode(result);
  const lines: string[] = [];
  const ended =
    result.signal !== null ? `killed by ${result.signal} (exit code ${code})` : `exit code ${code}`;
  lines.push(`${ended} after ${seconds(result.durationMs, true)}${result.sandboxed ? '' : ' (unsandboxed)'}`);
  if (cappedFrom !== undefined)
    lines.push(`(timeout_seconds ${cappedFrom} is above the limit; ${timeoutSeconds} was used)`);
  if (result.timedOut) {
    lines.push(`timed out after ${timeoutSeconds} s: the command and everything it started were killed`);
  }
  if (result.removedGitFiles !== undefined) {
    lines.push(
      `removed ${result.removedGitFiles.join(', ')}: the command created it, and it would make git read configuration from elsewhere`,
    );
  }
  for (const line of result.neutralized ?? []) {
    lines.push(`${line}: settings and hooks of a nested repository that would run programs in git`);
  }
  if (result.totalBytes === 0) lines.push('no output');
  else {
    lines.push(
      result.tailTruncated
        ? `output (its last part; ${result.totalBytes} bytes in all, the whole output is in ${result.outputPath}):`
        : `output (also in ${result.outputPath}):`,
    );
    lines.push(result.tail.endsWith('\n') ? result.tail.slice(0, -1) : result.tail);
  }
  return lines.join('\n');
}

/** The `bash` tool, running commands as `options.sandbox` says. */
export function bashTool(options: BashOptions): Tool {
  async function run(rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
    const args = argsObject(rawArgs);
    const command = requiredString(args, 'command');
    if (command.trim() === '') return failure('The command is empty.');
    const asked = optionalPositive(args, 'timeout_seconds');
    const timeoutSeconds = Math.min(asked ?? BASH_DEFAULT_TIMEOUT_SECONDS, BASH_MAX_TIMEOUT_SECONDS);
    const network = optionalBoolean(args, 'network') ?? false;
    const outputPath = path.join(ctx.runDir, `bash-${Date.now()}-${randomBytes(3).toString('hex')}.log`);
    // a marker names the command's group while it runs, so a worker killed meanwhile has it
    // killed on its next start (src/workspace/orphans.ts)
    const marker = markerFor(outputPath);
    const result = await runCommand({
      onStart: (pid) => recordGroup(marker, pid),
      command,
      root: ctx.root,
      outputPath,
      timeoutMs: timeoutSeconds * 1000,
      sandbox: options.sandbox,
      signal: ctx.signal,
      network,
      // unsandboxed, HOME is a folder of the run's own, outside the project
      home: path.join(ctx.runDir, 'home'),
      env: options.env,
      killGraceMs: options.killGraceMs,
      onProgress: ctx.onProgress ? (ms) => ctx.onProgress?.(`running ${Math.floor(ms / 1000)} s`) : undefined,
    });
    forgetGroup(marker);
    if (result.aborted) throw ctx.signal.reason ?? new Error('The run was stopped.');
    if (result.startError) return { ...failure(result.startError), outputPath };
    const exitCode = shellExitCode(result);
    // its group is gone: what it left in nested repositories can be made inert before anyone's git reads it
    const neutralized = await neutralizeNestedRepos(ctx.root, {
      sandbox: options.sandbox,
      timeoutMs: options.gitTimeoutMs,
      signal: ctx.signal,
    }).catch((err: unknown) => [`nested repositories could not be checked: ${(err as Error).message}`]);
    ctx.signal.throwIfAborted();
    return {
      content: describeRun(
        { ...result, neutralized },
        timeoutSeconds,
        asked !== undefined && asked > BASH_MAX_TIMEOUT_SECONDS ? asked : undefined,
      ),
      isError: exitCode !== 0 || result.timedOut,
      ...(exitCode !== undefined ? { exitCode } : {}),
      outputPath,
    };
  }

  return {
    name: 'bash',
    description:
      `Run a bash command in the project folder and return its exit code and the end of its output (at most 2000 lines / 50 KB; the whole output is kept in a file whose path is given). ` +
      `Default timeout ${BASH_DEFAULT_TIMEOUT_SECONDS} s, at most ${BASH_MAX_TIMEOUT_SECONDS}. ` +
      (options.sandbox.sandboxed
        ? 'It runs in a sandbox: only the project folder and /tmp are writable and there is no network unless network is true. '
        : '') +
      'Processes it starts in the background end with it.',
    parameters: {
      type: 'object',
      properties: {
        command: { type: 'string', description: 'The command line, run with bash -c in the project folder.' },
        timeout_seconds: {
          type: 'number',
          exclusiveMinimum: 0,
          maximum: BASH_MAX_TIMEOUT_SECONDS,
          description: `Seconds before the command is killed (default ${BASH_DEFAULT_TIMEOUT_SECONDS}).`,
        },
        network: { type: 'boolean', description: 'Whether the command needs the network (default false).' },
      },
      required: ['command'],
      additionalProperties: false,
    },
    kind: 'run',
    resume: 'never',
    describe: (args) => describeCommand('bash', args),
    risks: commandRisks,
    run: (args, ctx) => guarded(ctx, () => run(args, ctx)),
  };
}
