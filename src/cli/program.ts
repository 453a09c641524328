import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { register as registerApprovals } from './commands/approvals';
import { register as registerDoctor } from './commands/doctor';
import { register as registerQueue } from './commands/queue';
import { register as registerRevisions } from './commands/revisions';
import { register as registerRuns } from './commands/runs';
import { register as registerStatus } from './commands/status';
import { register as registerUsage } from './commands/usage';
import type { CliContext } from './context';

/** A group of commands: adds its commands (and their subcommands) to the program. */
export type CommandGroup = (program: Command, ctx: CliContext) => void;

// Every command group, in the order `--help` lists them. A new group is one import above and one
// entry here; groups must keep heavy modules (pm2, openai) out of their top-level imports, so that
// the queue commands start fast.
const COMMAND_GROUPS: readonly CommandGroup[] = [
  registerQueue,
  registerStatus,
  registerDoctor,
  registerRevisions,
  registerRuns,
  registerApprovals,
  registerUsage,
];

const EXAMPLES = `
Examples:
  $ autonous queue ls --status dead
  $ autonous queue retry 42
  $ autonous queue stats --since 1h
  $ autonous status || echo "something is wrong"
  $ autonous doctor
  $ autonous --db /srv/autonous/state/agent.db queue ls --json

Exit codes: 0 success, 1 failure (or something wrong, for status and doctor), 2 usage error.
The database is --db, else TG_DB_PATH (environment or AUTONOUS_ENV_FILE, default ~/.env).`;

/** The package version (package.json sits two folders above both src/cli and dist/cli). */
function version(): string {
  try {
    const file = path.join(__dirname, '..', '..', 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The `autonous` program. Commander never exits the process itself (`exitOverride`): its errors
 * are thrown to main, which maps them to exit code 2, and its output goes through `ctx.out`.
 */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('autonous')
    .description('Operate autonous: the inbox queue, the health of the apps, and repairs.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .option('--db <path>', 'the database file (default: TG_DB_PATH, else state/agent.db in the project)')
    .option('--json', 'print JSON with stable field names instead of tables (see docs/cli.md)')
    .addHelpText('after', EXAMPLES)
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => ctx.out.writeOut(text),
      writeErr: (text) => ctx.out.writeErr(text),
    })
    .exitOverride();
  for (const group of COMMAND_GROUPS) group(program, ctx);
  return program;
}
