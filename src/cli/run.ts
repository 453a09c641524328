import { CommanderError } from 'commander';
import { ConfigError } from '../shared/env';
import { redact } from '../shared/redact';
import type { CliContext } from './context';
import { CLI_EXIT, CliError, UsageError } from './errors';
import { buildProgram } from './program';

// Commander's own outcomes that are not errors.
const CLEAN_EXITS = new Set(['commander.helpDisplayed', 'commander.version']);

/** Runs the CLI on `argv` (as process.argv: node, script, args...) and returns the exit code. */
export async function run(argv: readonly string[], ctx: CliContext): Promise<number> {
  try {
    await buildProgram(ctx).parseAsync([...argv]);
    return ctx.exitCode;
  } catch (err) {
    return exitCodeFor(err, ctx);
  }
}

/** Prints what went wrong (one sentence, no stack) and chooses the exit code. */
function exitCodeFor(err: unknown, ctx: CliContext): number {
  if (err instanceof CommanderError) {
    // commander has printed its message (and the help hint) already
    return CLEAN_EXITS.has(err.code) ? CLI_EXIT.ok : CLI_EXIT.usage;
  }
  if (err instanceof UsageError) {
    ctx.out.error(`error: ${err.message}\n(add --help for usage)`);
    return CLI_EXIT.usage;
  }
  if (err instanceof CliError || err instanceof ConfigError) {
    ctx.out.error(`error: ${err.message}`);
    return CLI_EXIT.failure;
  }
  const message = err instanceof Error ? err.message : String(err);
  if ((err as { code?: unknown }).code === 'SQLITE_BUSY') {
    ctx.out.error('error: another process held the database locked for too long: try again in a moment.');
    return CLI_EXIT.failure;
  }
  if (/no such (table|column)/i.test(message)) {
    ctx.out.error(
      `error: the database does not have the expected tables (${message}): restart the worker of this version so it migrates, or run \`autonous doctor\`.`,
    );
    return CLI_EXIT.failure;
  }
  ctx.out.error(`error: ${message}`);
  if (ctx.env.AUTONOUS_DEBUG && err instanceof Error && err.stack) ctx.out.error(redact(err.stack));
  return CLI_EXIT.failure;
}
