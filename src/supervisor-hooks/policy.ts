// The supervisor's decisions besides the crash loop itself. Pure functions of what was recorded
// and the clock, so each edge is a unit test.
import type { RevisionStatus } from '../db/schema';
import { READINESS_PARTS, type Readiness } from '../shared/contracts';
import { seconds } from '../shared/seconds';

/** What an `exit` event of the worker was. */
export type ExitKind =
  /** A second `exit` for the same run: PM2 says `exit` again when it stops an app that had exited. */
  | 'duplicate'
  /** Stopped or restarted by a command (by hand, or by the supervisor). */
  | 'manual'
  /** Killed by the supervisor's watchdog because its heartbeat stopped. */
  | 'watchdog'
  /** The process ended by itself: a crash, a signal from outside, an exit PM2 did not ask for. */
  | 'unexpected';

/** An exit as PM2 reports it, and what the supervisor remembers about earlier ones. */
export interface ExitFacts {
  /** The app's status in the event: PM2 says `stopping` when a command is stopping it. */
  readonly status: string;
  /** When the run that ended had started (identifies the run). */
  readonly startedAt: number;
  readonly manual: boolean;
  /** The start time of the run whose exit was recorded last. */
  readonly lastExitStartedAt: number | null;
  /** The start time of the run the watchdog killed last. */
  readonly watchdogStartedAt: number | null;
}

/** Classifies one `exit` event. Pure. */
export function classifyExit(facts: ExitFacts): ExitKind {
  if (facts.lastExitStartedAt !== null && facts.startedAt === facts.lastExitStartedAt) return 'duplicate';
  if (facts.manual || facts.status === 'stopping') return 'manual';
  if (facts.watchdogStartedAt !== null && facts.startedAt === facts.watchdogStartedAt) return 'watchdog';
  return 'unexpected';
}

/** A revision as the decisions see it. */
export interface RevisionFacts {
  readonly id: string;
  readonly status: RevisionStatus;
  readonly createdAt: number;
  /** Its folder is still there (a pruned or deleted one cannot run). */
  readonly available: boolean;
}

/**
 * Where a rollback goes: `preferred` (the revision that ran before the failing one was released)
 * when it is good and present, else the newest good revision that is present, never the failing
 * one; null when there is none. Pure.
 */
export function chooseRollbackTarget(
  revisions: readonly RevisionFacts[],
  failing: string | null,
  preferred: string | null,
): string | null {
  const usable = revisions.filter((r) => r.status === 'good' && r.available && r.id !== failing);
  if (preferred !== null && usable.some((r) => r.id === preferred)) return preferred;
  let newest: RevisionFacts | null = null;
  for (const r of usable) if (newest === null || r.createdAt > newest.createdAt) newest = r;
  return newest?.id ?? null;
}

/** What to do about a crash loop. */
export type CrashLoopDecision =
  | { readonly action: 'rollback'; readonly to: string; readonly markBad: true; readonly reason: string }
  | { readonly action: 'halt'; readonly markBad: boolean; readonly reason: string };

/**
 * What went wrong with a revision: a clause that the revision's id follows (`crashed 3 times ...`
 * + ` on r7-…`), or a sentence that names the revision itself where that reads better.
 */
export type Symptom = string | ((revision: string) => string);

/** The symptom as a sentence about `revision`. Pure. */
export function describeSymptom(symptom: Symptom, revision: string): string {
  return typeof symptom === 'string' ? `${symptom} on ${revision}` : symptom(revision);
}

/**
 * A crash loop (or another failure that condemns the code) on a revision that is not yet good →
 * mark it bad and roll back to `target`. On a good revision the code is not to blame (or not
 * only), so going back cannot be trusted to help: halt. With nothing to go back to: halt, and a
 * candidate is still marked bad. Code that is not a recorded revision (`failing` null) cannot be
 * judged: halt. Pure.
 */
export function decideOnCrashLoop(
  failing: RevisionFacts | null,
  target: string | null,
  symptom: Symptom,
): CrashLoopDecision {
  if (failing === null) {
    return {
      action: 'halt',
      markBad: false,
      reason: `${describeSymptom(symptom, 'code that is not a recorded revision')}; fix it and run \`autonous supervisor resume\`, or \`autonous release\` a fix`,
    };
  }
  const what = describeSymptom(symptom, failing.id);
  if (failing.status === 'good') {
    return {
      action: 'halt',
      markBad: false,
      reason: `${what}, a revision that had run well (look at the environment, the database and the logs); fix it and run \`autonous supervisor resume\``,
    };
  }
  if (target !== null) {
    return { action: 'rollback', to: target, markBad: true, reason: what };
  }
  return {
    action: 'halt',
    markBad: failing.status === 'candidate',
    reason: `${what} and there is no good revision to roll back to; \`autonous release\` a fix, or \`autonous supervisor resume\` to try again`,
  };
}

/** The facts about a running worker that the watchdog and promotion look at. */
export interface RunFacts {
  readonly now: number;
  /** When the running process started. */
  readonly startedAt: number;
  /** The worker's last heartbeat, from any run; null when it never wrote one. */
  readonly heartbeatAt: number | null;
}

/**
 * Hung: no heartbeat for longer than `timeoutMs`, counting from the later of the last heartbeat
 * and the start of this run (a process gets the whole timeout to write its first one). A
 * timeout of 0 turns the watchdog off. Pure.
 */
export function isHung(run: RunFacts, timeoutMs: number): boolean {
  if (timeoutMs <= 0) return false;
  const lastSign = Math.max(run.startedAt, run.heartbeatAt ?? 0);
  return run.now - lastSign > timeoutMs;
}

/** One part of the readiness a worker reports (its database, a poll, a self-test). */
export type ReadinessPart = keyof typeof READINESS_PARTS;

const PARTS = Object.keys(READINESS_PARTS) as ReadinessPart[];

/**
 * The parts of readiness that the process `pid` has not reached. A row written by another process
 * (an earlier run, or no row at all) says nothing about this one, so then every part is missing;
 * so is every part of a process whose pid PM2 did not give (0). Pure.
 */
export function missingReadiness(readiness: Readiness | null, pid: number): ReadinessPart[] {
  if (readiness === null || pid <= 0 || readiness.pid !== pid) return [...PARTS];
  return PARTS.filter((part) => readiness[part] === null);
}

/** A candidate's run as promotion and the readiness deadline see it. */
export interface CandidateRun extends RunFacts {
  readonly revisionStatus: RevisionStatus;
  /** When `current` was pointed at the revision (a run started before runs older code). */
  readonly pointedAt: number;
  /** The running process's pid, as PM2 lists it (0 when not known). */
  readonly pid: number;
  /** What the worker's row says of readiness (it may be an earlier process's). */
  readonly readiness: Readiness | null;
}

/**
 * A candidate becomes good once the run started from it (after `current` pointed at it) has lived
 * `promoteAfterMs`, is alive (it wrote a heartbeat during this run, and a recent one when the
 * watchdog is on), and has reported itself ready: its readiness row is this process's and has
 * every part. Living alone is not enough, since a worker that never polls Telegram or never takes
 * an item can live for ever while doing nothing. Pure.
 */
export function shouldPromote(
  run: CandidateRun,
  promoteAfterMs: number,
  heartbeatTimeoutMs: number,
): boolean {
  if (run.revisionStatus !== 'candidate') return false;
  if (run.startedAt < run.pointedAt) return false;
  if (run.now - run.startedAt < promoteAfterMs) return false;
  if (run.heartbeatAt === null || run.heartbeatAt < run.startedAt) return false;
  if (heartbeatTimeoutMs > 0 && run.now - run.heartbeatAt > heartbeatTimeoutMs) return false;
  return missingReadiness(run.readiness, run.pid).length === 0;
}

/**
 * The parts a candidate's run still lacks once `readyTimeoutMs` have passed since it started
 * (exactly at the deadline counts as late), or null when there is nothing to judge: the revision
 * is not a candidate (a good revision is never judged on readiness), the run started before
 * `current` pointed at it, its start is not known, time is not up, or it is ready. Pure.
 */
export function overdueReadiness(run: CandidateRun, readyTimeoutMs: number): ReadinessPart[] | null {
  if (run.revisionStatus !== 'candidate') return null;
  if (run.startedAt <= 0 || run.startedAt < run.pointedAt) return null;
  if (run.now - run.startedAt < readyTimeoutMs) return null;
  const missing = missingReadiness(run.readiness, run.pid);
  return missing.length === 0 ? null : missing;
}

/**
 * Why a candidate is rolled back for not being ready, naming what it did not reach:
 * `r7-… was not ready 60 s after it started: it did not answer a poll of Telegram`. Pure.
 */
export function notReadySymptom(missing: readonly ReadinessPart[], readyTimeoutMs: number): Symptom {
  const parts = missing.map((part) => READINESS_PARTS[part]);
  const last = parts.pop();
  const list = parts.length === 0 ? (last ?? 'report itself ready') : `${parts.join(', ')} or ${last}`;
  return (revision) =>
    `${revision} was not ready ${seconds(readyTimeoutMs, true)} after it started: it did not ${list}`;
}

/**
 * The revisions to delete: all but the newest `keep` (by creation), never one in `protect`
 * (what `current` points at, and where a rollback would go). Pure.
 */
export function revisionsToPrune(
  revisions: readonly Pick<RevisionFacts, 'id' | 'createdAt'>[],
  keep: number,
  protect: ReadonlySet<string>,
): string[] {
  const newestFirst = [...revisions].sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
  return newestFirst.slice(keep).flatMap((r) => (protect.has(r.id) ? [] : [r.id]));
}
