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
  /** Killed by the supervisor's watchdog because its heartbeat stopped (then also `manual`). */
  readonly watchdog?: boolean;
  /** The revision that run was started from. */
  readonly revision: string | null;
}

/** The thresholds of `SUPERVISOR_CRASH_LOOP_*` and `SUPERVISOR_MIN_UPTIME_SECONDS`. */
export interface CrashLoopPolicy {
  readonly restarts: number;
  readonly windowMs: number;
  readonly minUptimeMs: number;
  /**
   * `SUPERVISOR_PROMOTE_AFTER_SECONDS`: a candidate that dies before running this long has not
   * shown it works (absent: `minUptimeMs`).
   */
  readonly promoteAfterMs?: number;
}

/** Where to look: the clock, the revision that runs, and since when counting restarted. */
export interface CrashLoopScope {
  readonly now: number;
  readonly revision: string | null;
  /** Exits at or before this time do not count (the last release, rollback or resume). */
  readonly since: number;
  /**
   * The revision is still a candidate: it has not once run `promoteAfterMs`, so every failure of
   * it since `since` counts, a watchdog kill too, and the window does not apply (a hang takes
   * the heartbeat timeout to be killed, so N of them rarely fit in the window, yet each one
   * says the same about the code).
   */
  readonly candidate?: boolean;
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
 * a process that keeps dying than none. For a `candidate` (see `CrashLoopScope`) a watchdog kill
 * counts, and so does any unexpected exit before `promoteAfterMs`. Pure.
 */
export function isCrash(exit: ExitRecord, policy: CrashLoopPolicy, candidate = false): boolean {
  if (exit.exitCode === EXIT.suicide || exit.exitCode === EXIT.config) return false;
  if (candidate && exit.watchdog === true) return true;
  if (exit.manual) return false;
  const minUptimeMs = candidate
    ? Math.max(policy.minUptimeMs, policy.promoteAfterMs ?? policy.minUptimeMs)
    : policy.minUptimeMs;
  return exit.uptimeMs === null || exit.uptimeMs < minUptimeMs;
}

/**
 * A crash loop: at least `restarts` crashes (see `isCrash`) of the revision that runs, after
 * `since`, within the last `windowMs` (an exit exactly `windowMs` old still counts; one from the
 * future, a clock step, does not). For a candidate every failure after `since` counts, however
 * old. Pure.
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
    if (exit.at <= scope.since || exit.at > scope.now) continue;
    if (scope.candidate !== true && scope.now - exit.at > policy.windowMs) continue;
    if (!isCrash(exit, policy, scope.candidate === true)) continue;
    count++;
    if (firstAt === null || exit.at < firstAt) firstAt = exit.at;
  }
  return { count, loop: count >= policy.restarts, firstAt };
}
