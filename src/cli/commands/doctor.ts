import type { Command } from 'commander';
import { ConfigError, dbPath, type Env, loadEnvironment } from '../../shared/env';
import { registerSecret } from '../../shared/redact';
import { WORKER_SETTINGS } from '../../shared/settings';
import { type CheckResult, fail, skip } from '../checks/check';
import { collectConfigErrors, configCheck } from '../checks/config';
import { sandboxPolicyOf } from '../../shared/config';
import { checkDatabase } from '../checks/database';
import { checkOpenAI } from '../checks/openai';
import { checkPm2 } from '../checks/pm2';
import { checkTelegram } from '../checks/telegram';
import { checkSandbox } from '../checks/sandbox';
import type { CliContext } from '../context';
import { globalOptions } from '../context';
import { resolveDbPath } from '../database';
import { CLI_EXIT } from '../errors';
import { paint } from '../render/colour';
import { doctorJson, renderDoctor } from '../render/doctor';

const TELEGRAM_VARIABLES = ['TELEGRAM_BOT_TOKEN', 'TELEGRAM_API_ROOT'];
const OPENAI_VARIABLES = [
  'OPENAI_API_KEY',
  'OPENAI_MODEL',
  'OPENAI_CHAT_COMPLETIONS_URL',
  'OPENAI_TIMEOUT_SECONDS',
];

const EXAMPLES = `
Checks, in order: config, database, telegram (getMe), openai (a one-token completion), pm2,
sandbox (how the agent's commands run: bubblewrap or not).
Exit code 1 when any check fails. Secrets are never printed.

Examples:
  $ autonous doctor
  $ AUTONOUS_ENV_FILE=/etc/autonous.env autonous doctor --json`;

/** Registers `doctor`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('check configuration, database, Telegram, OpenAI and PM2, with the fix for each failure')
    .addHelpText('after', EXAMPLES)
    .action(async (_opts: unknown, command: Command): Promise<void> => {
      const g = globalOptions(command);
      const checks = await runChecks(ctx, g.db);
      if (g.json) ctx.out.json(doctorJson(checks));
      else ctx.out.print(renderDoctor(checks, paint(ctx.out.colour)));
      if (checks.some((c) => c.status === 'fail')) ctx.exitCode = CLI_EXIT.failure;
    });
}

/** Runs every check; the network checks run at the same time, the lines keep their order. */
async function runChecks(ctx: CliContext, dbFlag: string | undefined): Promise<CheckResult[]> {
  let env: Env;
  let envFileError: CheckResult | null = null;
  try {
    env = loadEnvironment(ctx.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    envFileError = fail('config', err.message, `Fix ${err.variable}.`);
    env = ctx.env;
  }
  // Known before anything can print them: every line goes through redact.
  registerSecret(env.TELEGRAM_BOT_TOKEN?.trim());
  registerSecret(env.OPENAI_API_KEY?.trim());

  const report = collectConfigErrors(env);
  const config = report.config;
  const usable = (names: readonly string[]): boolean =>
    config !== null && names.every((n) => !report.invalid.has(n));
  const database = checkDatabase(
    dbFlag !== undefined ? resolveDbPath(dbFlag, env) : (config?.dbPath ?? dbPath(env)),
  );
  const [telegram, openai, pm2, sandbox] = await Promise.all([
    usable(TELEGRAM_VARIABLES) && config
      ? checkTelegram(config.telegram.token, config.telegram.apiRoot)
      : skip('telegram', 'skipped: fix the Telegram variables first'),
    usable(OPENAI_VARIABLES) && config
      ? checkOpenAI(config.openai)
      : skip('openai', 'skipped: fix the OpenAI variables first'),
    checkPm2(env, ctx.now()),
    checkSandbox(
      (env.AGENT_TOOLS?.trim() || WORKER_SETTINGS.AGENT_TOOLS.default) !== 'off',
      env.AGENT_SANDBOX,
      config ? sandboxPolicyOf(config) : undefined,
    ),
  ]);
  return [envFileError ?? configCheck(report), database, telegram, openai, pm2, sandbox];
}
