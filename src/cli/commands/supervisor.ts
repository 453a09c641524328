import type { Command } from 'commander';
import { type Env, loadEnvironment, projectHome } from '../../shared/env';
import { WORKER_APP } from '../../shared/contracts';
import { releasesDirFor } from '../../supervisor-hooks/config';
import { connectPm2, Pm2UnreachableError } from '../../shared/pm2/client';
import { currentRevision, resumeWorker } from '../../supervisor-hooks/revisions';
import { type EventRecord, SupervisorStore } from '../../supervisor-hooks/store';
import type { CliContext } from '../context';
import { globalOptions } from '../context';
import { resolveDbPath, withDatabase } from '../database';
import { CLI_EXIT } from '../errors';
import { wholeNumber } from '../options';
import { type Paint, paint } from '../render/colour';
import { renderTable } from '../render/table';
import { cut } from '../render/text';
import { formatTime } from '../render/time';

const EXAMPLES = `
Examples:
  $ autonous supervisor events --limit 30
  $ autonous supervisor resume            # after a halt, once the cause is fixed

When the supervisor halts the worker (a crash loop it cannot roll back), the worker stays stopped
until \`autonous supervisor resume\` (or \`autonous release\` of a fix). See
docs/supervisor.md, section Crash loop.`;

/** What happened to the worker's process after a change of revision. */
export type Restart = { readonly restarted: true } | { readonly restarted: false; readonly why: string };

/**
 * Reports a change of revision that the worker's process did not follow: stderr says what is
 * recorded, that the old code still runs and what to do, and the command exits 1 (a caller that
 * reads 0 as "the new code runs" must not be misled). `done` is what was recorded, a sentence
 * without its full stop; `stopped`: the worker was halted, so nothing runs.
 */
export function reportNotRestarted(ctx: CliContext, done: string, why: string, stopped = false): void {
  const state = stopped
    ? 'the worker was not started and does not run'
    : 'the worker was not restarted and still runs the code it ran before';
  ctx.out.error(
    `error: ${done}, but ${state} (${why.replace(
      /\.$/,
      '',
    )}). Set PM2_HOME to the PM2 home the worker runs under and run \`pm2 restart ${WORKER_APP}\`; a running supervisor also restarts it at its next check.`,
  );
  ctx.exitCode = CLI_EXIT.failure;
}

/** Restarts the worker through PM2 so it runs what `current` points at now; never starts a daemon. */
export async function restartWorker(env: Env): Promise<Restart> {
  let pm;
  try {
    pm = await connectPm2({ env: env as NodeJS.ProcessEnv });
  } catch (err) {
    if (err instanceof Pm2UnreachableError) return { restarted: false, why: err.message };
    throw err;
  }
  try {
    await pm.restart(WORKER_APP);
    return { restarted: true };
  } catch (err) {
    return { restarted: false, why: err instanceof Error ? err.message : String(err) };
  } finally {
    await pm.close();
  }
}

/** The table of `supervisor events`, oldest first. Pure. */
export function renderEvents(events: readonly EventRecord[], p: Paint): string {
  if (events.length === 0) return 'The supervisor has recorded nothing yet.';
  const rows = events.map((e) => [
    e.id,
    formatTime(e.at),
    e.app === WORKER_APP ? 'worker' : e.app.replace(/^autonous-/, ''),
    ['crash_loop', 'rollback', 'halt', 'watchdog'].includes(e.event) ? p.red(e.event) : e.event,
    e.exitCode,
    e.uptimeMs === null ? null : `${Math.round(e.uptimeMs / 100) / 10}s`,
    e.manual === null ? null : e.manual ? 'yes' : 'no',
    e.revision,
    cut(e.detail ?? '', 80),
  ]);
  return renderTable(['ID', 'AT', 'APP', 'EVENT', 'EXIT', 'UPTIME', 'MANUAL', 'REVISION', 'DETAIL'], rows, p);
}

/** Registers `supervisor resume` and `supervisor events`. */
export function register(program: Command, ctx: CliContext): void {
  const supervisor = program
    .command('supervisor')
    .description("the supervisor's decisions: its event log, and ending a halt")
    .addHelpText('after', EXAMPLES);

  supervisor
    .command('events')
    .description('the newest supervisor events (exits, crash loops, rollbacks, halts, ...), oldest first')
    .option('--limit <n>', 'at most this many events', wholeNumber(1, 100000), 50)
    .action((opts: { limit: number }, command: Command) => {
      const g = globalOptions(command);
      const events = withDatabase(resolveDbPath(g.db, ctx.env), (handle) =>
        new SupervisorStore(handle).recentEvents(opts.limit),
      );
      if (g.json) ctx.out.json(events);
      else ctx.out.print(renderEvents(events, paint(ctx.out.colour)));
    });

  supervisor
    .command('resume')
    .description('end a halt: count crashes afresh and start the worker on the revision current points at')
    .addHelpText('after', EXAMPLES)
    .action(async (_opts: unknown, command: Command) => {
      const g = globalOptions(command);
      const file = resolveDbPath(g.db, ctx.env);
      const { before, current } = withDatabase(file, (handle) => {
        const store = new SupervisorStore(handle);
        const state = store.state();
        if (state?.status !== 'halted') return { before: state?.status ?? 'unknown', current: null };
        const home = projectHome(loadEnvironment(ctx.env, (name) => name === 'AUTONOUS_HOME'));
        const rc = { store, releasesDir: releasesDirFor(file), home, keep: 0 };
        resumeWorker(rc, 'by hand (autonous supervisor resume)', ctx.now());
        return { before: 'halted', current: currentRevision(rc) };
      });
      if (before !== 'halted') {
        if (g.json) ctx.out.json({ resumed: false, status: before });
        else ctx.out.print(`The worker is not halted (the supervisor says ${before}): nothing to resume.`);
        return;
      }
      const restart = await restartWorker(ctx.env);
      if (g.json) ctx.out.json({ resumed: true, ...restart });
      else if (restart.restarted)
        ctx.out.print('Resumed: the worker was started again, and crashes are counted afresh.');
      if (!restart.restarted) {
        reportNotRestarted(
          ctx,
          `The halt is over in the records (crashes are counted afresh) and current points at ${current ?? 'the project'}`,
          restart.why,
          true,
        );
      }
    });
}
