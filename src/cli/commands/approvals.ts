import type { Command } from 'commander';
import { pendingApprovals } from '../../queue/agent/pending-approvals';
import { pendingApprovalJson, pendingApprovalOf } from '../../queue/agent/run-detail';
import type { CliContext } from '../context';
import { globalOptions } from '../context';
import { resolveDbPath, withDatabase } from '../database';
import { wholeNumber } from '../options';
import { paint } from '../render/colour';
import { renderPendingApprovals } from '../render/runs';

const EXAMPLES = `
Examples:
  $ autonous approvals ls
  $ autonous approvals ls --json`;

/** Registers `approvals ls`. */
export function register(program: Command, ctx: CliContext): void {
  const approvals = program
    .command('approvals')
    .description('see the approvals the agent is waiting for')
    .addHelpText('after', EXAMPLES);

  approvals
    .command('ls')
    .description(
      'list the pending approvals, oldest first (decide them in the chat, or /approve ID, /deny ID)',
    )
    .option('--limit <n>', 'at most this many approvals', wholeNumber(1, 10000), 50)
    .action((opts: { limit: number }, command: Command) => {
      const g = globalOptions(command);
      const approvals = withDatabase(resolveDbPath(g.db, ctx.env), ({ sqlite }) =>
        pendingApprovals(sqlite, opts.limit).map(pendingApprovalOf),
      );
      if (g.json) ctx.out.json(approvals.map(pendingApprovalJson));
      else ctx.out.print(renderPendingApprovals(approvals, ctx.now(), paint(ctx.out.colour)));
    });
}
