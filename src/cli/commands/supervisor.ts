import type { Command } from 'commander';
import { type Env, loadEnvironment, projectHome } from '../../shared/env';
import { releasesDirFor, WORKER_APP } from '../../supervisor-hooks/config';
import { connectPm2, Pm2UnreachableError } from '../../supervisor-hooks/process-manager';
import { resumeWorker } from '../../supervisor-hooks/revisions';
import { type EventRecord, SupervisorStore } from '../../supervisor-hooks/store';
import type { CliContext } from '../context';
import { globalOptions } from '../context';
import { resolveDbPath, withDatabase } from '../database';
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
until \`autonous supervisor resume\` (or \`autonous release\` of a fix). See docs/supervisor.md.`;

/** What happened to the worker's process after a change of revision. */
export type Restart = { readonly restarted: true } | { readonly restarted: false; readonly why: string };

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
    e.app === 'autonous-worker' ? 'worker' : e.app.replace(/^autonous-/, ''),
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
      const before = withDatabase(file, (handle) => {
        const store = new SupervisorStore(handle);
        const state = store.state();
        if (state?.status !== 'halted') return state?.status ?? 'unknown';
        const home = projectHome(loadEnvironment(ctx.env, (name) => name === 'AUTONOUS_HOME'));
        resumeWorker(
          { store, releasesDir: releasesDirFor(file), home, keep: 0 },
          'by hand (autonous supervisor resume)',
          ctx.now(),
        );
        return 'halted';
      });
      if (before !== 'halted') {
        if (g.json) ctx.out.json({ resumed: false, status: before });
        else ctx.out.print(`The worker is not halted (the supervisor says ${before}): nothing to resume.`);
        return;
      }
      const restart = await restartWorker(ctx.env);
      if (g.json) ctx.out.json({ resumed: true, ...restart });
      else {
        ctx.out.print(
          restart.restarted
            ? 'Resumed: the worker was started again, and crashes are counted afresh.'
            : `Resumed in the records, but the worker was not started: ${restart.why}`,
        );
      }
    });
}
