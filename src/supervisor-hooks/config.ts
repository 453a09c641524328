import path from 'node:path';
import type { ThresholdName } from '../shared/contracts';
import { dbPath, type Env, projectHome, readThreshold } from '../shared/env';

/** The supervisor's whole configuration, read and validated once at start. */
export interface SupervisorConfig {
  /** Unexpected short-lived exits within the window that make a crash loop. */
  readonly crashLoopRestarts: number;
  readonly crashLoopWindowMs: number;
  /** An exit after at least this much uptime is not part of a crash loop. */
  readonly minUptimeMs: number;
  /** A candidate revision that ran healthy this long becomes `good`. */
  readonly promoteAfterMs: number;
  /** No heartbeat for this long → the worker is restarted; 0 turns the watchdog off. */
  readonly heartbeatTimeoutMs: number;
  /**
   * A candidate whose run has not reported itself ready (database, poll, self-test) this long
   * after it started is rolled back.
   */
  readonly readyTimeoutMs: number;
  /** How many revisions are kept besides those `current` or a rollback may need. */
  readonly keepRevisions: number;
  /** The project folder (AUTONOUS_HOME): its `dist/` is the first revision. */
  readonly home: string;
  readonly dbPath: string;
  /** Where revisions live: `releases/` beside the database. */
  readonly releasesDir: string;
}

/**
 * The only names the supervisor takes from the env file: its own settings and where the
 * project and the database are. The file also holds the bot token and the API key, which the
 * supervisor must never hold.
 */
export function supervisorAccepts(name: string): boolean {
  return name.startsWith('SUPERVISOR_') || name === 'TG_DB_PATH' || name === 'AUTONOUS_HOME';
}

/** The releases folder for a database file: `releases/` in the database's folder. */
export function releasesDirFor(databaseFile: string): string {
  return path.join(path.dirname(databaseFile), 'releases');
}

/** Reads and validates the supervisor's variables; throws `ConfigError` naming the bad one. */
export function loadSupervisorConfig(env: Env): SupervisorConfig {
  const seconds = (name: ThresholdName): number => readThreshold(env, name) * 1000;
  const file = dbPath(env);
  return Object.freeze({
    crashLoopRestarts: readThreshold(env, 'SUPERVISOR_CRASH_LOOP_RESTARTS'),
    crashLoopWindowMs: seconds('SUPERVISOR_CRASH_LOOP_WINDOW_SECONDS'),
    minUptimeMs: seconds('SUPERVISOR_MIN_UPTIME_SECONDS'),
    promoteAfterMs: seconds('SUPERVISOR_PROMOTE_AFTER_SECONDS'),
    heartbeatTimeoutMs: seconds('SUPERVISOR_HEARTBEAT_TIMEOUT_SECONDS'),
    readyTimeoutMs: seconds('SUPERVISOR_READY_SECONDS'),
    keepRevisions: readThreshold(env, 'SUPERVISOR_KEEP_REVISIONS'),
    home: projectHome(env),
    dbPath: file,
    releasesDir: releasesDirFor(file),
  });
}
