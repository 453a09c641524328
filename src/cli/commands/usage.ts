import type { Command } from 'commander';
import { cachedShare, shareText } from '../../shared/cached-share';
import { loadEnvironment } from '../../shared/env';
import { costUsd, DEFAULT_PRICES, parsePrices, priceOf, type Price } from '../../shared/prices';
import { usageSince } from '../../queue/usage';
import type { CliContext } from '../context';
import { globalOptions } from '../context';
import { resolveDbPath, withDatabase } from '../database';
import { CliError } from '../errors';
import { chatId, duration } from '../options';
import { paint } from '../render/colour';
import { renderTable } from '../render/table';

const EXAMPLES = `
Examples:
  $ autonous usage
  $ autonous usage --since 7d --chat 12345
  $ autonous usage --json`;

/** One row of `autonous usage`: a chat and a model over the window. */
export interface UsageRowJson {
  readonly chatId: number;
  readonly model: string;
  readonly answers: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens: number;
  /** cachedTokens ÷ promptTokens, 0 to 1; null when there were no prompt tokens. */
  readonly cachedShare: number | null;
  /** USD at the price table (OPENAI_PRICES over the defaults); null for a model with no price. */
  readonly costUsd: number | null;
}

/** The price table the worker uses: the defaults with OPENAI_PRICES (environment or env file) over them. */
function prices(env: CliContext['env']): Record<string, Price> {
  const value = loadEnvironment(env, (name) => name === 'OPENAI_PRICES').OPENAI_PRICES ?? '';
  const parsed = parsePrices(value);
  if (typeof parsed === 'string') throw new CliError(`OPENAI_PRICES is malformed: ${parsed}.`);
  return { ...DEFAULT_PRICES, ...parsed };
}

/** Registers `usage`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('usage')
    .description('tokens and cost per chat and model (from the API usage of each answer)')
    .option('--since <duration>', 'the window: 30m, 24h, 30d ...', duration, duration('30d'))
    .option('--chat <id>', 'only this chat', chatId)
    .addHelpText('after', EXAMPLES)
    .action((opts: { since: { text: string; ms: number }; chat?: number }, command: Command) => {
      const g = globalOptions(command);
      const table = prices(ctx.env);
      const since = ctx.now() - opts.since.ms;
      const totals = withDatabase(resolveDbPath(g.db, ctx.env), ({ sqlite }) =>
        usageSince(sqlite, since, opts.chat),
      );
      const rows: UsageRowJson[] = totals.map((t) => ({
        chatId: t.chatId,
        model: t.model,
        answers: t.answers,
        promptTokens: t.promptTokens,
        completionTokens: t.completionTokens,
        cachedTokens: t.cachedTokens,
        cachedShare: cachedShare(t),
        costUsd: costUsd(priceOf(table, t.model), t),
      }));
      if (g.json) return ctx.out.json(rows);
      if (rows.length === 0) return ctx.out.print(`No answers in the last ${opts.since.text}.`);
      ctx.out.print(
        renderTable(
          ['CHAT', 'MODEL', 'ANSWERS', 'PROMPT', 'COMPLETION', 'CACHED', 'CACHED %', 'COST USD'],
          rows.map((r) => [
            r.chatId,
            r.model,
            r.answers,
            r.promptTokens,
            r.completionTokens,
            r.cachedTokens,
            shareText(r.cachedShare),
            r.costUsd === null ? null : r.costUsd.toFixed(4),
          ]),
          paint(ctx.out.colour),
        ),
      );
    });
}
