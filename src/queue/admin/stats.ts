import type Database from 'better-sqlite3';
import { countByStatus, oldestWaitingAt, type StatusCounts } from './counts';
import { errorRate, summariseLatencies, type LatencySummary } from './latency';

/** One of the most common errors in the window. */
export interface ErrorCount {
  readonly error: string;
  readonly errorClass: string | null;
  readonly errorCode: string | null;
  readonly count: number;
}

/** The queue's health: current counts, and what happened since `since`. */
export interface QueueStats {
  readonly since: number;
  readonly now: number;
  /** Items per status now (all time). */
  readonly counts: StatusCounts;
  /** Arrival time of the oldest item still owed an answer, or null. */
  readonly oldestWaitingAt: number | null;
  /** Items answered (done) and given up (dead) in the window. */
  readonly done: number;
  readonly dead: number;
  /** Done items per hour over the window. */
  readonly throughputPerHour: number;
  /** Receipt to reply (`received_at` → `finished_at`) of the items done in the window. */
  readonly latencyMs: LatencySummary;
  /** dead / (done + dead) in the window, or null when nothing finished. */
  readonly errorRate: number | null;
  /** The most common errors of failed and dead items active in the window. */
  readonly topErrors: readonly ErrorCount[];
}

/** Gathers the statistics of the window [since, now]. */
export function queueStats(sqlite: Database.Database, since: number, now: number, topErrors = 5): QueueStats {
  return sqlite
    .transaction((): QueueStats => {
      const latencies = sqlite
        .prepare(
          `SELECT finished_at - received_at AS ms FROM inbox
           WHERE status = 'done' AND finished_at >= ?`,
        )
        .pluck()
        .all(since) as number[];
      const dead = sqlite
        .prepare(`SELECT count(*) FROM inbox WHERE status = 'dead' AND finished_at >= ?`)
        .pluck()
        .get(since) as number;
      const errors = sqlite
        .prepare(
          `SELECT error, error_class AS errorClass, error_code AS errorCode, count(*) AS count FROM inbox
           WHERE status IN ('failed', 'dead') AND error IS NOT NULL
             AND coalesce(finished_at, started_at, received_at) >= ?
           GROUP BY error, error_class, error_code ORDER BY count DESC, error LIMIT ?`,
        )
        .all(since, topErrors) as ErrorCount[];
      const hours = Math.max(now - since, 1) / 3_600_000;
      return {
        since,
        now,
        counts: countByStatus(sqlite),
        oldestWaitingAt: oldestWaitingAt(sqlite),
        done: latencies.length,
        dead,
        throughputPerHour: latencies.length / hours,
        latencyMs: summariseLatencies(latencies.map((ms) => Math.max(0, ms))),
        errorRate: errorRate(latencies.length, dead),
        topErrors: errors,
      };
    })
    .deferred();
}
