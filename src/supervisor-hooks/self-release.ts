// The judge's part of a self-release: an approver pressed Release, the worker marked its row
// `requested`; the supervisor checks what was built and releases it as a candidate, or refuses.
// It reads only the build folder, the commit, the checks and the base revision of the row.
import path from 'node:path';
import { type CheckSummary, SELF_RELEASE_ORIGIN } from '../shared/contracts';
import { judgeBuild } from './build-judge';
import { checkSource, readCurrent } from './releases';
import { currentRevision, releaseRevision, type Released, type RevisionContext } from './revisions';
import type { SelfReleaseRequest } from './store';

/** What became of the oldest request. */
export type RequestHandled =
  /** Released as a candidate: the caller restarts the worker on it. */
  | { readonly action: 'released'; readonly request: SelfReleaseRequest; readonly released: Released }
  /** Refused by the judge, or the release failed: the row says why. */
  | { readonly action: 'failed'; readonly request: SelfReleaseRequest; readonly reason: string }
  /** Left `requested`: a self-release released earlier still runs as a candidate. */
  | { readonly action: 'waiting'; readonly request: SelfReleaseRequest; readonly behind: string };

/** Thrown by the judgement inside the release: the supervisor refuses what was built. */
class Refusal extends Error {}

/** A stored `CheckSummary`, or null when it is missing or not one. */
export function parseCheckSummary(json: string | null | undefined): CheckSummary | null {
  if (json === null || json === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.passed !== 'boolean' || typeof v.command !== 'string') return null;
  const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  const t = typeof v.tests === 'object' && v.tests !== null ? (v.tests as Record<string, unknown>) : null;
  const tests =
    t !== null && num(t.passed) !== null && num(t.failed) !== null && num(t.total) !== null
      ? { passed: num(t.passed) as number, failed: num(t.failed) as number, total: num(t.total) as number }
      : null;
  return {
    passed: v.passed,
    command: v.command,
    exitCode: num(v.exitCode),
    timedOut: v.timedOut === true,
    seconds: num(v.seconds) ?? 0,
    tests,
  };
}

/** The label of a self-release's revision: `self-release #3 of commit 1a2b3c4`. */
export function selfReleaseLabel(id: number, commit: string | null): string {
  return commit === null ? `self-release #${id}` : `self-release #${id} of commit ${commit.slice(0, 7)}`;
}

/**
 * Takes the oldest `requested` self-release, if any, and judges it: its build folder must hold a
 * built worker, its checks must have passed, and what was built must leave the judge as it runs
 * and only add migrations (`judgeBuild`, on the snapshot itself). Released → the row is
 * `released` with its revision in the very transaction that records the revision, so a kill at
 * any instant leaves either a request or a release with its revision. Refused or failed → the
 * row is `failed` with the reason. One request at a time: while the revision `current` points at
 * is a self-release still a candidate, the next request waits for its outcome. `linked` false
 * (PM2 does not run the worker through `current`) refuses: such a release could not be rolled back.
 */
export function handleSelfReleaseRequest(
  ctx: RevisionContext,
  now: number,
  linked: boolean,
): RequestHandled | null {
  const { store } = ctx;
  const request = store.requestedSelfRelease();
  if (request === null) return null;
  const running = currentRevision(ctx);
  if (running !== null && store.revision(running)?.status === 'candidate') {
    if (store.selfReleaseOf(running)?.status === 'released')
      return { action: 'waiting', request, behind: running };
  }
  const refused = (reason: string): RequestHandled =>
    fail(ctx, request, `the supervisor refused it: ${reason}`, now);
  if (!linked) {
    return refused(
      'PM2 does not run the worker through the releases folder’s current link, so a release could not be rolled back',
    );
  }
  if (request.buildDir === null || !path.isAbsolute(request.buildDir)) {
    return refused('its request names no absolute build folder');
  }
  const source = {
    distDir: path.join(request.buildDir, 'dist'),
    drizzleDir: path.join(request.buildDir, 'drizzle'),
  };
  try {
    checkSource(source);
  } catch (err) {
    return refused(sentence(err));
  }
  const checks = parseCheckSummary(request.checks);
  if (checks === null || !checks.passed) return refused('its checks did not pass');
  try {
    const released = releaseRevision(ctx, source, selfReleaseLabel(request.id, request.commit), now, {
      origin: SELF_RELEASE_ORIGIN,
      commit: request.commit,
      checks: JSON.stringify(checks),
      judge: (made) => {
        // what runs now, after a first start may just have recorded it
        const runningDir = readCurrent(ctx.releasesDir)?.target ?? null;
        if (runningDir === null) throw new Refusal('there is no running revision to compare it with');
        const why = judgeBuild(made.path, runningDir);
        if (why !== null) throw new Refusal(why);
      },
      onRecorded: (revision) => {
        if (!store.markSelfReleaseReleased(request.id, revision.id, now))
          throw new Error(`self-release #${request.id} was no longer requested`);
      },
    });
    return { action: 'released', request, released };
  } catch (err) {
    if (err instanceof Refusal) return refused(err.message);
    return fail(ctx, request, `the release failed: ${sentence(err)}`, now);
  }
}

/** Records the request as failed with `reason`, and the judge's own event with it. */
function fail(
  ctx: RevisionContext,
  request: SelfReleaseRequest,
  reason: string,
  now: number,
): RequestHandled {
  ctx.store.transaction(() => {
    if (!ctx.store.markSelfReleaseFailed(request.id, reason, now)) return; // withdrawn meanwhile
    ctx.store.record({
      at: now,
      event: 'self_release_failed',
      detail: { request: request.id, commit: request.commit, reason },
    });
  });
  return { action: 'failed', request, reason };
}

/** An error's message as a clause: no full stop at its end. */
function sentence(err: unknown): string {
  // by its shape, not `instanceof Error`: an error made by a native addon (SQLite) may come from
  // another realm's Error (a test runner's sandbox), and String() would add its class name
  const message =
    typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string'
      ? (err as { message: string }).message
      : String(err);
  return message.replace(/\.\s*$/, '');
}
