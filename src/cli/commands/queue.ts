import { type Command, Option } from 'commander';
import { INBOX_STATUSES, type InboxStatus } from '../../db/schema';
import { listDead } from '../../queue/admin/dead';
import { listItems } from '../../queue/admin/list';
import { PURGEABLE_STATUSES, purgeItems, type PurgeableStatus } from '../../queue/admin/purge';
import { RETRYABLE_STATUSES, retryByStatus, retryItems, type RetryableStatus } from '../../queue/admin/retry';
import { queueStats } from '../../queue/admin/stats';
import type { CliContext } from '../context';
import { globalOptions } from '../context';
import { resolveDbPath, withDatabase } from '../database';
import { CliError, UsageError } from '../errors';
import { chatId, duration, wholeNumber } from '../options';
import { paint } from '../render/colour';
import {
  itemJson,
  purgeJson,
  renderDead,
  renderItems,
  renderPurge,
  renderRequeued,
  requeuedJson,
} from '../render/queue';
import { renderStats, statsJson } from '../render/stats';

const EXAMPLES = `
Examples:
  $ autonous queue ls --status failed --limit 20
  $ autonous queue dead
  $ autonous queue retry 42 43
  $ autonous queue retry --all-dead
  $ autonous queue stats --since 24h --json
  $ autonous queue purge --status done --older-than 7d --dry-run`;

/** Registers `queue ls | dead | retry | stats | purge`. */
export function register(program: Command, ctx: CliContext): void {
  const queue = program
    .command('queue')
    .description('see and repair the inbox queue')
    .addHelpText('after', EXAMPLES);

  queue
    .command('ls')
    .description('list inbox items, newest first')
    .addOption(new Option('--status <status>', 'only items in this status').choices(INBOX_STATUSES))
    .option('--chat <id>', 'only items of this chat', chatId)
    .option('--limit <n>', 'at most this many items', wholeNumber(1, 10000), 50)
    .option('--full', 'show whole messages and errors instead of cutting them short')
    .action(
      (opts: { status?: InboxStatus; chat?: number; limit: number; full?: boolean }, command: Command) => {
        const g = globalOptions(command);
        const rows = withDatabase(resolveDbPath(g.db, ctx.env), ({ sqlite }) =>
          listItems(sqlite, { status: opts.status, chatId: opts.chat, limit: opts.limit }),
        );
        const full = opts.full === true;
        if (g.json) ctx.out.json(rows.map((row) => itemJson(row, full)));
        else ctx.out.print(renderItems(rows, ctx.now(), full, paint(ctx.out.colour)));
      },
    );

  queue
    .command('dead')
    .description('list dead letters: items that ran out of attempts or failed for good')
    .option('--limit <n>', 'at most this many items', wholeNumber(1, 10000), 50)
    .option('--full', 'show whole messages and errors instead of cutting them short')
    .action((opts: { limit: number; full?: boolean }, command: Command) => {
      const g = globalOptions(command);
      const rows = withDatabase(resolveDbPath(g.db, ctx.env), ({ sqlite }) => listDead(sqlite, opts.limit));
      const full = opts.full === true;
      if (g.json) ctx.out.json(rows.map((row) => itemJson(row, full)));
      else ctx.out.print(renderDead(rows, ctx.now(), full, paint(ctx.out.colour)));
    });

  queue
    .command('retry')
    .description('send items back to the queue, ready now, with their attempts reset')
    .argument('[ids...]', 'inbox ids (the ID column of queue ls)')
    .option('--all-dead', 'every dead item')
    .addOption(new Option('--status <status>', 'every item in this status').choices(RETRYABLE_STATUSES))
    .action((ids: string[], opts: { allDead?: boolean; status?: RetryableStatus }, command: Command) => {
      const g = globalOptions(command);
      const status = retryTarget(ids, opts);
      const parsed = ids.map(parseId);
      const requeued = withDatabase(resolveDbPath(g.db, ctx.env), ({ sqlite }) => {
        if (status !== undefined) return retryByStatus(sqlite, status, ctx.now());
        const result = retryItems(sqlite, parsed, ctx.now());
        if (result.refused.length > 0) {
          const reasons = result.refused.map((r) => r.reason).join(' ');
          throw new CliError(`${reasons} Nothing was requeued.`);
        }
        return result.requeued;
      });
      if (g.json) ctx.out.json(requeuedJson(requeued));
      else ctx.out.print(renderRequeued(requeued));
    });

  queue
    .command('stats')
    .description('counts, oldest waiting item, throughput, latency, error rate and top errors')
    .option('--since <duration>', 'the window: 30m, 1h, 24h, 7d ...', duration, duration('24h'))
    .action((opts: { since: { text: string; ms: number } }, command: Command) => {
      const g = globalOptions(command);
      const now = ctx.now();
      const stats = withDatabase(resolveDbPath(g.db, ctx.env), ({ sqlite }) =>
        queueStats(sqlite, now - opts.since.ms, now),
      );
      if (g.json) ctx.out.json(statsJson(stats));
      else ctx.out.print(renderStats(stats, opts.since.text, paint(ctx.out.colour)));
    });

  queue
    .command('purge')
    .description('delete finished items older than a given age (their history stays)')
    .addOption(
      new Option('--status <status>', 'which finished items')
        .choices(PURGEABLE_STATUSES)
        .makeOptionMandatory(),
    )
    .requiredOption('--older-than <duration>', 'finished longer ago than this: 7d, 12h ...', duration)
    .option('--dry-run', 'count what would go, change nothing')
    .action(
      (
        opts: { status: PurgeableStatus; olderThan: { text: string; ms: number }; dryRun?: boolean },
        command: Command,
      ) => {
        const g = globalOptions(command);
        const request = {
          status: opts.status,
          finishedBefore: ctx.now() - opts.olderThan.ms,
          dryRun: opts.dryRun === true,
        };
        const result = withDatabase(resolveDbPath(g.db, ctx.env), ({ sqlite }) =>
          purgeItems(sqlite, request),
        );
        if (g.json) ctx.out.json(purgeJson(request, opts.olderThan.ms, result));
        else ctx.out.print(renderPurge(request, opts.olderThan.text, result));
      },
    );
}

/** Which status `queue retry` works on, or undefined for the ids given; exactly one way. */
function retryTarget(
  ids: readonly string[],
  opts: { allDead?: boolean; status?: RetryableStatus },
): RetryableStatus | undefined {
  const ways = [ids.length > 0, opts.allDead === true, opts.status !== undefined].filter(Boolean).length;
  if (ways !== 1) {
    throw new UsageError('Give item ids, or --all-dead, or --status <status> (exactly one of them).');
  }
  if (opts.allDead === true) return 'dead';
  return opts.status;
}

function parseId(text: string): number {
  if (!/^\d{1,15}$/.test(text))
    throw new UsageError(`"${text}" is not an inbox id: ids are whole numbers, like 42.`);
  return Number(text);
}
