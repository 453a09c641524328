import { execFile } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'autonous');

/** What the CLI printed and its exit code. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the built `bin/autonous` as the operator would, asynchronously (fakes living in the test
 * process must keep answering). Nothing comes from the developer's environment — no real PM2,
 * env file, database or secret — but PATH and what `env` gives (HOME and PM2_HOME included).
 */
export function runCli(
  args: readonly string[],
  env: Record<string, string>,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: { PATH: process.env.PATH ?? '', AUTONOUS_ENV_FILE: '/dev/null', ...env },
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 20_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
