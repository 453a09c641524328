import { EXIT } from '../shared/exit-codes';

/** One recorded exit of the worker, as the crash-loop detector sees it. */
export interface ExitRecord {
  /** When PM2 saw the exit (ms). */
  readonly at: number;
  /** How long that run lasted; null when unknown. */
  readonly uptimeMs: number | null;
  readonly exitCode: number | null;
  /** Stopped or restarted on purpose (by hand, by the supervisor, by its watchdog). */
  readonly manual: boolean;
  /** The revision that run was started from. */
  readonly revision: string | null;
}

/** The thresholds of `SUPERVISOR_CRASH_LOOP_*` and `SUPERVISOR_MIN_UPTIME_SECONDS`. */
export interface CrashLoopPolicy {
  readonly restarts: number;
  readonly windowMs: number;
  readonly minUptimeMs: number;
}

/** Where to look: the clock, the revision that runs, and since when counting restarted. */
export interface CrashLoopScope {
  readonly now: number;
  readonly revision: string | null;
  /** Exits at or before this time do not count (the last release, rollback or resume). */
  readonly since: number;
}

/** The detector's answer. */
export interface CrashLoopVerdict {
  /** Exits that count, within the window. */
  readonly count: number;
  readonly loop: boolean;
  /** The oldest exit that counted, or null. */
  readonly firstAt: number | null;
}

/**
 * Whether one exit is the kind a crash loop is made of: not manual, not a deliberate exit of the
 * crash-test mode (75, PM2 restarts it on purpose), not bad configuration (78, PM2 does not
 * restart it, so it cannot loop), and shorter than the minimum uptime (an exit exactly at the
 * threshold is a run that lived long enough). An unknown uptime counts: better a false alarm on
 * a process that keeps dying than none. Pure.
 */
export function isCrash(exit: ExitRecord, policy: CrashLoopPolicy): boolean {
  if (exit.manual) return false;
  if (exit.exitCode === EXIT.suicide || exit.exitCode === EXIT.config) return false;
  return exit.uptimeMs === null || exit.uptimeMs < policy.minUptimeMs;
}

/**
 * A crash loop: at least `restarts` crashes (see `isCrash`) of the revision that runs, after
 * `since`, within the last `windowMs` (an exit exactly `windowMs` old still counts; one from the
 * future, a clock step, does not). Pure.
 */
export function detectCrashLoop(
  exits: readonly ExitRecord[],
  scope: CrashLoopScope,
  policy: CrashLoopPolicy,
): CrashLoopVerdict {
  let count = 0;
  let firstAt: number | null = null;
  for (const exit of exits) {
    if (exit.revision !== scope.revision) continue;
    if (exit.at <= scope.since || exit.at > scope.now || scope.now - exit.at > policy.windowMs) continue;
    if (!isCrash(exit, policy)) continue;
    count++;
    if (firstAt === null || exit.at < firstAt) firstAt = exit.at;
  }
  return { count, loop: count >= policy.restarts, firstAt };
}
