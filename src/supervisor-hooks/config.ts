import path from 'node:path';
import { dbPath, type Env, projectHome, readInt } from '../shared/env';

/** The PM2 app the supervisor watches, and its row in `supervisor_state`. */
export const WORKER_APP = 'autonous-worker';
/** The supervisor's own PM2 app. */
export const SUPERVISOR_APP = 'autonous-supervisor';
/** The row the worker's heartbeat goes to: the only supervisor row the worker writes. */
export const HEARTBEAT_ROW = 'worker-heartbeat';

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
  /** How many revisions are kept besides those `current` or a rollback may need. */
  readonly keepRevisions: number;
  /** The project folder (AUTONOUS_HOME): its `dist/` is the first revision. */
  readonly home: string;
  readonly dbPath: string;
  /** Where revisions live: `releases/` beside the database. */
  readonly releasesDir: string;
}

export const SUPERVISOR_DEFAULTS = {
  SUPERVISOR_CRASH_LOOP_RESTARTS: 5,
  SUPERVISOR_CRASH_LOOP_WINDOW_SECONDS: 300,
  SUPERVISOR_MIN_UPTIME_SECONDS: 60,
  SUPERVISOR_PROMOTE_AFTER_SECONDS: 120,
  SUPERVISOR_HEARTBEAT_TIMEOUT_SECONDS: 90,
  SUPERVISOR_KEEP_REVISIONS: 5,
} as const;

const DAY = 86400;

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
  const d = SUPERVISOR_DEFAULTS;
  const seconds = (name: keyof typeof d, min: number): number => readInt(env, name, d[name], min, DAY) * 1000;
  const file = dbPath(env);
  return Object.freeze({
    crashLoopRestarts: readInt(
      env,
      'SUPERVISOR_CRASH_LOOP_RESTARTS',
      d.SUPERVISOR_CRASH_LOOP_RESTARTS,
      1,
      1000,
    ),
    crashLoopWindowMs: seconds('SUPERVISOR_CRASH_LOOP_WINDOW_SECONDS', 1),
    minUptimeMs: seconds('SUPERVISOR_MIN_UPTIME_SECONDS', 1),
    promoteAfterMs: seconds('SUPERVISOR_PROMOTE_AFTER_SECONDS', 0),
    heartbeatTimeoutMs: seconds('SUPERVISOR_HEARTBEAT_TIMEOUT_SECONDS', 0),
    keepRevisions: readInt(env, 'SUPERVISOR_KEEP_REVISIONS', d.SUPERVISOR_KEEP_REVISIONS, 1, 100),
    home: projectHome(env),
    dbPath: file,
    releasesDir: releasesDirFor(file),
  });
}
