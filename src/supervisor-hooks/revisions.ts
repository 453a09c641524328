// Revision operations shared by the supervisor and the CLI: the database records and the
// releases folder change together here; restarting the worker through PM2 is the caller's part.
//
// Order matters for a process killed half-way: the database says where `current` must point
// (the newest `release` or `rollback` event) before the link is re-pointed, so whoever comes next
// (the restarted supervisor) can finish the move; the link never points at a folder that is not
// complete.
import fs from 'node:fs';
import path from 'node:path';
import { chooseRollbackTarget, type RevisionFacts, revisionsToPrune } from './policy';
import {
  ensureReleasesDir,
  nextSequence,
  pointCurrentAt,
  preMigrateCopyPath,
  readCurrent,
  removeRevision,
  revisionAvailable,
  type Snapshot,
  type SnapshotSource,
  snapshot,
} from './releases';
import { ROLLBACK_EVENT, type RollbackDetail } from '../shared/contracts';
import { type RevisionRecord, SWAP_EVENTS, type SupervisorStore } from './store';

/** `supervisor_revisions.origin` of a revision `autonous release` made. */
export const CLI_ORIGIN = 'cli';
/** `supervisor_revisions.origin` of the revision recorded at the supervisor's first start. */
export const FIRST_START_ORIGIN = 'first-start';

/** Where revisions are kept and recorded. */
export interface RevisionContext {
  readonly store: SupervisorStore;
  readonly releasesDir: string;
  /** The project folder: its node_modules serve every revision. */
  readonly home: string;
  /** How many revisions to keep besides the protected ones. */
  readonly keep: number;
}

/** The revisions with whether each can still run. */
export function revisionFacts(ctx: RevisionContext): RevisionFacts[] {
  return ctx.store.revisions().map((r) => ({
    id: r.id,
    status: r.status,
    createdAt: r.createdAt,
    available: revisionAvailable(ctx.releasesDir, r.id),
  }));
}

/** The revision `current` points at, or null (no link, or it points at the project itself). */
export function currentRevision(ctx: RevisionContext): string | null {
  return readCurrent(ctx.releasesDir)?.revision ?? null;
}

/** Where `current` must point according to the records: the newest release's or rollback's target. */
export function intendedRevision(ctx: RevisionContext): { readonly id: string; readonly at: number } | null {
  const event = ctx.store.lastEvent(SWAP_EVENTS);
  return event?.revision ? { id: event.revision, at: event.at } : null;
}

/** Where a rollback from `failing` would go (see `chooseRollbackTarget`). */
export function rollbackTargetFor(ctx: RevisionContext, failing: string | null): string | null {
  return chooseRollbackTarget(
    revisionFacts(ctx),
    failing,
    failing === null ? null : releasedFrom(ctx, failing),
  );
}

/** The revision that ran before `id` was released, from its `release` event. */
function releasedFrom(ctx: RevisionContext, id: string): string | null {
  const release = ctx.store.lastEvent(['release'], id);
  if (!release?.detail) return null;
  try {
    const detail = JSON.parse(release.detail) as { from?: unknown };
    return typeof detail.from === 'string' ? detail.from : null;
  } catch {
    return null;
  }
}

/**
 * Records what runs at the very first start as the first revision, `good`: the revision folder
 * `current` points at if there is one, else a snapshot of the folder it points at (the project,
 * as the ecosystem file links it before anything was released), then re-points `current` at the
 * snapshot. Does nothing once any revision is recorded, or when there is no built worker.
 */
export function ensureInitialRevision(ctx: RevisionContext, now: number): RevisionRecord | null {
  if (ctx.store.revisions().length > 0) return null;
  ensureReleasesDir(ctx.releasesDir, ctx.home);
  const current = readCurrent(ctx.releasesDir);
  let id: string;
  let made = false;
  let source: string;
  if (current?.revision && revisionAvailable(ctx.releasesDir, current.revision)) {
    id = current.revision;
    source = 'found in the releases folder at the first start';
  } else {
    const from = current?.target ?? ctx.home;
    const sourceDirs: SnapshotSource = {
      distDir: path.join(from, 'dist'),
      drizzleDir: path.join(from, 'drizzle'),
    };
    try {
      id = snapshot(ctx.releasesDir, sourceDirs, nextSequence(ctx.releasesDir, [])).id;
    } catch {
      return null; // nothing built yet: there is nothing that runs to record
    }
    made = true;
    source = `${sourceDirs.distDir} at the first start`;
  }
  const recorded = ctx.store.transaction(() => {
    if (ctx.store.revisions().length > 0) return null; // another process was quicker
    ctx.store.addRevision({
      id,
      path: path.join(ctx.releasesDir, id),
      status: 'good',
      source,
      createdAt: now,
      origin: FIRST_START_ORIGIN,
    });
    ctx.store.record({ at: now, event: 'initial_revision', revision: id, detail: { source } });
    if (ctx.store.state()?.revision == null) ctx.store.updateState({ revision: id }, now);
    return ctx.store.revision(id);
  });
  if (recorded === null) {
    if (made) removeRevision(ctx.releasesDir, id);
    return null;
  }
  // The process that runs now was started from the very files just copied: no restart needed,
  // and no `release` event, so nothing takes the running worker for an old one.
  if (current?.revision !== id) pointCurrentAt(ctx.releasesDir, id);
  return recorded;
}

/** A release that was made. */
export interface Released {
  readonly revision: RevisionRecord;
  /** What `current` pointed at before. */
  readonly previous: string | null;
  /** The copy of the database taken before the revision's new migrations, or null when it had none. */
  readonly preMigrateCopy: string | null;
}

/** Where a release comes from, and what must happen with it. */
export interface ReleaseOptions {
  /** Who makes it: `cli`, `self-release` (see `supervisor_revisions.origin`). */
  readonly origin?: string | null;
  /** The git commit it was built from, when known. */
  readonly commit?: string | null;
  /** What its checks said (`CheckSummary` as JSON). */
  readonly checks?: string | null;
  /**
   * Looks at the snapshot before anything is recorded, and throws to refuse it: what is judged is
   * the very copy that would run, which nothing can change after the judgement.
   */
  readonly judge?: (made: Snapshot) => void;
  /**
   * Runs inside the transaction that records the revision, for what must be recorded together
   * with it or not at all; throwing undoes the release.
   */
  readonly onRecorded?: (revision: RevisionRecord) => void;
}

/**
 * Releases a built worker: snapshot, judge (when asked), copy the database when the snapshot
 * brings migrations it has not applied (the new worker migrates as it opens it, and a rollback
 * keeps the newer schema, so this copy is the operator's way back), record a `candidate` and a
 * `release` event (the state goes to `starting`, which also ends a halt; a self-release still
 * waiting for its outcome on the revision replaced ends rolled back), re-point `current`, prune
 * old revisions. The caller restarts the worker.
 */
export function releaseRevision(
  ctx: RevisionContext,
  source: SnapshotSource,
  label: string,
  now: number,
  options: ReleaseOptions = {},
): Released {
  ensureReleasesDir(ctx.releasesDir, ctx.home);
  ensureInitialRevision(ctx, now);
  const made = snapshot(
    ctx.releasesDir,
    source,
    nextSequence(
      ctx.releasesDir,
      ctx.store.revisions().map((r) => r.id),
    ),
  );
  const previous = currentRevision(ctx);
  let revision: RevisionRecord;
  let preMigrateCopy: string | null = null;
  try {
    options.judge?.(made);
    if (ctx.store.hasPendingMigrations(path.join(made.path, 'drizzle'))) {
      preMigrateCopy = copyDatabaseBeforeMigrations(ctx, made.id);
    }
    revision = ctx.store.transaction(() => {
      ctx.store.addRevision({
        id: made.id,
        path: made.path,
        status: 'candidate',
        source: label,
        createdAt: now,
        origin: options.origin ?? null,
        commit: options.commit ?? null,
        checks: options.checks ?? null,
      });
      ctx.store.record({
        at: now,
        event: 'release',
        revision: made.id,
        detail: {
          from: previous,
          to: made.id,
          source: label,
          ...(preMigrateCopy === null ? {} : { preMigrateCopy }),
        },
      });
      ctx.store.updateState({ status: 'starting', reason: `released ${made.id}`, restartsInWindow: 0 }, now);
      // A self-release replaced before it was judged will never be: it ends here, or its chat
      // would wait for an outcome (and hold back every later request) for ever.
      if (previous !== null) {
        ctx.store.settleSelfRelease(
          previous,
          {
            status: 'rolled_back',
            reason: `replaced by ${made.id} (${label}) before it was judged`,
            rolledBackTo: made.id,
          },
          now,
        );
      }
      const recorded = ctx.store.revision(made.id) as RevisionRecord;
      options.onRecorded?.(recorded);
      return recorded;
    });
  } catch (err) {
    // nothing recorded: the folder (and any copy) would only be found as an unknown revision
    removeRevision(ctx.releasesDir, made.id);
    throw err;
  }
  pointCurrentAt(ctx.releasesDir, made.id);
  pruneRevisions(ctx);
  return { revision, previous, preMigrateCopy };
}

/** Copies the database beside the revision `id` (readable by its owner only, as the database). */
function copyDatabaseBeforeMigrations(ctx: RevisionContext, id: string): string {
  const file = preMigrateCopyPath(ctx.releasesDir, id);
  fs.rmSync(file, { force: true }); // VACUUM INTO refuses a file that is there
  try {
    ctx.store.copyDatabaseTo(file);
  } catch (err) {
    fs.rmSync(file, { force: true });
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `Could not copy the database to ${file} before the release's new migrations (${why}); free space there and release again.`,
    );
  }
  fs.chmodSync(file, 0o600);
  return file;
}

/** Marks a candidate good (recording `promote`, and the outcome of the self-release that made it); false when it was not a candidate. */
export function promoteRevision(
  ctx: RevisionContext,
  id: string,
  detail: Record<string, unknown>,
  now: number,
): boolean {
  return ctx.store.transaction(() => {
    if (!ctx.store.promote(id, now)) return false;
    ctx.store.record({ at: now, event: 'promote', revision: id, detail });
    ctx.store.settleSelfRelease(id, { status: 'promoted' }, now);
    return true;
  });
}

/** What a rollback needs. */
export interface RollbackRequest {
  readonly from: string | null;
  readonly to: string;
  readonly reason: string;
  /** Mark `from` bad with the reason. */
  readonly markBad: boolean;
}

/**
 * Rolls back: marks the failing revision bad, records the `rollback` event (detail: `from`, `to`,
 * `reason`: the worker announces it), the `rolled_back` state, and the outcome of the
 * self-release that made the failing revision, then re-points `current`. The caller restarts
 * the worker.
 */
export function rollbackRevision(ctx: RevisionContext, request: RollbackRequest, now: number): void {
  if (!revisionAvailable(ctx.releasesDir, request.to)) {
    throw new Error(`Revision ${request.to} has no runnable folder in ${ctx.releasesDir}.`);
  }
  const detail: RollbackDetail = { from: request.from, to: request.to, reason: request.reason };
  ctx.store.transaction(() => {
    if (request.markBad && request.from !== null) ctx.store.markBad(request.from, request.reason, now);
    if (request.from !== null) {
      ctx.store.settleSelfRelease(
        request.from,
        { status: 'rolled_back', reason: request.reason, rolledBackTo: request.to },
        now,
      );
    }
    ctx.store.record({ at: now, event: ROLLBACK_EVENT, revision: request.to, detail: { ...detail } });
    ctx.store.updateState(
      {
        status: 'rolled_back',
        reason: `rolled back from ${request.from ?? 'unrecorded code'} to ${request.to}: ${request.reason}`,
        restartsInWindow: 0,
      },
      now,
    );
  });
  pointCurrentAt(ctx.releasesDir, request.to);
}

/**
 * Records a halt (the caller stops the worker); a failing candidate may be marked bad too. A
 * self-release that made the halted revision ends rolled back to nothing: it no longer runs.
 */
export function haltWorker(
  ctx: RevisionContext,
  halt: { readonly revision: string | null; readonly reason: string; readonly markBad: boolean },
  now: number,
): void {
  ctx.store.transaction(() => {
    if (halt.markBad && halt.revision !== null) ctx.store.markBad(halt.revision, halt.reason, now);
    if (halt.revision !== null) {
      ctx.store.settleSelfRelease(
        halt.revision,
        { status: 'rolled_back', reason: halt.reason, rolledBackTo: null },
        now,
      );
    }
    ctx.store.record({ at: now, event: 'halt', revision: halt.revision, detail: { reason: halt.reason } });
    ctx.store.updateState({ status: 'halted', reason: halt.reason }, now);
  });
}

/** Ends a halt in the records (the caller starts the worker); crash counting starts afresh. */
export function resumeWorker(ctx: RevisionContext, by: string, now: number): void {
  ctx.store.transaction(() => {
    ctx.store.record({ at: now, event: 'resume', revision: currentRevision(ctx), detail: { by } });
    ctx.store.updateState({ status: 'starting', reason: `resumed ${by}`, restartsInWindow: 0 }, now);
  });
}

/**
 * Deletes all but the newest `keep` revisions, never the one `current` points at, the one the
 * records say it should point at, or where a rollback from it would go. Returns the ids deleted.
 */
export function pruneRevisions(ctx: RevisionContext): string[] {
  const current = currentRevision(ctx);
  const protect = new Set<string>();
  if (current !== null) protect.add(current);
  const intended = intendedRevision(ctx)?.id;
  if (intended) protect.add(intended);
  const target = rollbackTargetFor(ctx, current);
  if (target !== null) protect.add(target);
  const doomed = revisionsToPrune(ctx.store.revisions(), ctx.keep, protect);
  for (const id of doomed) {
    ctx.store.deleteRevision(id);
    removeRevision(ctx.releasesDir, id);
  }
  return doomed;
}
