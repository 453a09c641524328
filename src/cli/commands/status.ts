import type { Command } from 'commander';
import { countByStatus, countDeadSince, oldestWaitingAt } from '../../queue/admin/counts';
import { migratedChats } from '../../queue/migrate-chat';
import { SUPERVISOR_THRESHOLDS } from '../../shared/contracts';
import { loadEnvironment, readThreshold } from '../../shared/env';
import type { CliContext } from '../context';
import { globalOptions } from '../context';
import { resolveDbPath, withDatabase } from '../database';
import { CLI_EXIT } from '../errors';
import { duration } from '../options';
import { parseHealth } from '../../shared/health';
import { getKv, KV } from '../../queue/kv';
import { readPm2 } from '../pm2';
import { paint } from '../render/colour';
import { renderStatus, statusJson } from '../render/status';
import { assessStatus, type StatusThresholds } from '../status/assess';
import { readSupervisor } from '../status/supervisor';
import { breakerState } from '../../self-release/breaker';
import type { DbHandle } from '../../db/open';

const HEARTBEAT_VARIABLE = 'SUPERVISOR_HEARTBEAT_TIMEOUT_SECONDS' as const;

const EXAMPLES = `
Exit code 1 when something is wrong (see docs/cli.md, section status), so cron and monitors can use it.

Examples:
  $ autonous status
  $ autonous status --json --max-wait 30m`;

/** Registers `status`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description(
      'one screen: PM2 apps, supervisor state, revision, heartbeat, queue; exit 1 when something is wrong',
    )
    .option(
      '--max-wait <duration>',
      'a message waiting longer than this is a problem',
      duration,
      duration('10m'),
    )
    .option(
      '--dead-since <duration>',
      'a message that died within this window is a problem',
      duration,
      duration('1h'),
    )
    .option(
      '--max-poll-failure <duration>',
      'polling Telegram failing for longer than this is a problem',
      duration,
      duration('2m'),
    )
    .addHelpText('after', EXAMPLES)
    .action(
      async (
        opts: { maxWait: { ms: number }; deadSince: { ms: number }; maxPollFailure: { ms: number } },
        command: Command,
      ): Promise<void> => {
        const g = globalOptions(command);
        const now = ctx.now();
        const limits: StatusThresholds = {
          heartbeatTimeoutMs: heartbeatTimeoutMs(ctx),
          maxWaitMs: opts.maxWait.ms,
          deadWindowMs: opts.deadSince.ms,
          maxPollFailureMs: opts.maxPollFailure.ms,
        };
        const file = resolveDbPath(g.db, ctx.env);
        const pm2Pending = readPm2(ctx.env, now);
        const records = withDatabase(file, (handle) =>
          handle.sqlite
            .transaction(() => ({
              supervisor: readSupervisor(handle),
              queue: {
                counts: countByStatus(handle.sqlite),
                oldestWaitingAt: oldestWaitingAt(handle.sqlite),
                deadRecent: countDeadSince(handle.sqlite, now - limits.deadWindowMs),
              },
              health: {
                polling: parseHealth(getKv(handle.sqlite, KV.ingressHealth)),
                model: parseHealth(getKv(handle.sqlite, KV.modelHealth)),
              },
              migrations: migratedChats(handle.sqlite),
              selfReleaseOff: selfReleaseOff(handle.sqlite),
            }))
            .deferred(),
        );
        const pm2 = await pm2Pending;
        // The daemon may run other apps of the operator's: this screen is about autonous only.
        const ours = pm2.reachable
          ? { ...pm2, apps: pm2.apps.filter((app) => app.name.startsWith('autonous')) }
          : pm2;
        const snapshot = { now, pm2: ours, ...records };
        const assessment = assessStatus(snapshot, limits);
        if (g.json) ctx.out.json(statusJson(snapshot, limits, assessment));
        else ctx.out.print(renderStatus(snapshot, limits, assessment, paint(ctx.out.colour)));
        if (assessment.problems.length > 0) ctx.exitCode = CLI_EXIT.failure;
      },
    );
}

/**
 * The supervisor's heartbeat timeout in ms (its variable, from the environment or the env file);
 * null when the supervisor's watchdog is off (0).
 */
function heartbeatTimeoutMs(ctx: CliContext): number | null {
  const env = loadEnvironment(ctx.env, (name) => name === HEARTBEAT_VARIABLE);
  let seconds: number;
  try {
    seconds = readThreshold(env, HEARTBEAT_VARIABLE);
  } catch {
    // A malformed value stops the supervisor itself, which status reports; judge with the default.
    seconds = SUPERVISOR_THRESHOLDS[HEARTBEAT_VARIABLE].default;
  }
  return seconds === 0 ? null : seconds * 1000;
}

/** The breaker's sentence when self-release is off; null when on (or the table is not there yet). */
function selfReleaseOff(sqlite: DbHandle['sqlite']): string | null {
  try {
    const state = breakerState(sqlite);
    return state.off ? state.reason : null;
  } catch {
    return null;
  }
}
