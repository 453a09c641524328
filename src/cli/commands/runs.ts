import { type Command, Option } from 'commander';
import { RUN_STATUSES, type RunStatus } from '../../agent/journal';
import { listRuns } from '../../queue/agent/list-runs';
import { runDetailJson, runDetailOf, runOf } from '../../queue/agent/run-detail';
import { showRun } from '../../queue/agent/show-run';
import type { CliContext } from '../context';
import { globalOptions } from '../context';
import { resolveDbPath, withDatabase } from '../database';
import { CliError, UsageError } from '../errors';
import { chatId, wholeNumber } from '../options';
import { paint } from '../render/colour';
import { renderRunDetail, renderRuns } from '../render/runs';

const EXAMPLES = `
Examples:
  $ autonous runs ls --status parked
  $ autonous runs ls --chat 12345 --limit 10
  $ autonous runs show 7
  $ autonous runs show 7 --json`;

/** Registers `runs ls | show`. */
export function register(program: Command, ctx: CliContext): void {
  const runs = program
    .command('runs')
    .description("see the agent's runs: their steps, tools, tokens and approvals")
    .addHelpText('after', EXAMPLES);

  runs
    .command('ls')
    .description('list agent runs, newest first')
    .addOption(new Option('--status <status>', 'only runs in this status').choices(RUN_STATUSES))
    .option('--chat <id>', 'only runs of this chat', chatId)
    .option('--limit <n>', 'at most this many runs', wholeNumber(1, 10000), 50)
    .action((opts: { status?: RunStatus; chat?: number; limit: number }, command: Command) => {
      const g = globalOptions(command);
      const summaries = withDatabase(resolveDbPath(g.db, ctx.env), ({ sqlite }) =>
        listRuns(sqlite, { status: opts.status, chatId: opts.chat, limit: opts.limit }).map(runOf),
      );
      if (g.json) ctx.out.json(summaries);
      else ctx.out.print(renderRuns(summaries, ctx.now(), paint(ctx.out.colour)));
    });

  runs
    .command('show')
    .description('one run: every step with its tool, arguments, status, exit code, duration and tokens')
    .argument('<id>', 'the run id (the ID column of runs ls)')
    .action((id: string, _opts: unknown, command: Command) => {
      const g = globalOptions(command);
      if (!/^\d{1,15}$/.test(id))
        throw new UsageError(`"${id}" is not a run id: ids are whole numbers, like 7.`);
      const rows = withDatabase(resolveDbPath(g.db, ctx.env), ({ sqlite }) => showRun(sqlite, Number(id)));
      if (rows === undefined) throw new CliError(`There is no run ${id}: see autonous runs ls.`);
      const detail = runDetailOf(rows);
      if (g.json) ctx.out.json(runDetailJson(detail));
      else ctx.out.print(renderRunDetail(detail, ctx.now(), paint(ctx.out.colour)));
    });
}
