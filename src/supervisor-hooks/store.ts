// The supervisor's tables: `supervisor_state`, `supervisor_events`, `supervisor_revisions`.
// Nothing here touches another table.
import { and, desc, eq, gt, inArray } from 'drizzle-orm';
import type { DbHandle } from '../db/open';
import { type RevisionStatus, supervisorEvents, supervisorRevisions, supervisorState } from '../db/schema';
import { HEARTBEAT_ROW, WORKER_APP } from './config';
import type { ExitRecord } from './crash-loop';

/** The worker's condition as `supervisor_state.status` shows it. */
export type WorkerStatus =
  /** Started (by a release, a rollback, a resume) and not yet online. */
  | 'starting'
  | 'online'
  /** Its last exit was unexpected; PM2 is restarting it. */
  | 'crashed'
  /** A crash loop was just detected; a rollback or a halt follows. */
  | 'crash_loop'
  /** Runs a revision it was rolled back to; stays until the next crash, release or resume. */
  | 'rolled_back'
  /** Stopped by the supervisor; only `autonous supervisor resume` (or a release) starts it again. */
  | 'halted'
  /** Stopped by hand, or exited with 78 (bad configuration), which PM2 does not restart. */
  | 'stopped';

/** The worker's row (`name = 'autonous-worker'`). */
export interface WorkerState {
  readonly status: WorkerStatus | null;
  readonly reason: string | null;
  readonly restartsInWindow: number;
  readonly lastExitCode: number | null;
  /** The revision the running (or last) process was started from. */
  readonly revision: string | null;
  /** Since when `status` holds. */
  readonly since: number | null;
}

/** A change to the worker's row; `since` moves only when the status changes. */
export type WorkerStatePatch = Partial<Omit<WorkerState, 'since'>>;

/** The supervisor's own events (PM2's lifecycle events are recorded under their PM2 names). */
export type SupervisorEventName =
  | 'supervisor_start'
  | 'reconnect'
  | 'initial_revision'
  | 'release'
  | 'promote'
  | 'crash_loop'
  | 'rollback'
  | 'halt'
  | 'resume'
  | 'watchdog'
  | 'halt_enforced'
  | 'restart_stale'
  | 'misconfigured'
  | 'secret_in_env';

/** One row of `supervisor_events`. */
export interface EventRecord {
  readonly id: number;
  readonly at: number;
  readonly app: string;
  readonly event: string;
  readonly exitCode: number | null;
  readonly uptimeMs: number | null;
  readonly manual: boolean | null;
  readonly revision: string | null;
  readonly detail: string | null;
}

/** What to record; `detail` objects are stored as JSON. */
export interface NewEvent {
  readonly at: number;
  readonly event: SupervisorEventName | string;
  readonly app?: string;
  readonly exitCode?: number | null;
  readonly uptimeMs?: number | null;
  readonly manual?: boolean | null;
  readonly revision?: string | null;
  readonly detail?: string | Record<string, unknown> | null;
}

/** One row of `supervisor_revisions`. */
export interface RevisionRecord {
  readonly id: string;
  /** The snapshot's folder (absolute). */
  readonly path: string;
  readonly status: RevisionStatus;
  readonly reason: string | null;
  /** Where it was made from: a folder, a build of the working tree, the first start. */
  readonly source: string | null;
  readonly createdAt: number;
  readonly promotedAt: number | null;
  readonly badAt: number | null;
}

/** The `detail` of a `rollback` event: the contract with the worker's rollback notice. */
export interface RollbackDetail {
  readonly from: string | null;
  readonly to: string;
  readonly reason: string;
}

/** Events after which crash counting starts again, and after which `current` was re-pointed. */
export const RESET_EVENTS: readonly SupervisorEventName[] = ['release', 'rollback', 'resume'];
export const SWAP_EVENTS: readonly SupervisorEventName[] = ['release', 'rollback'];

/** The `kind` an `exit` event's detail records (`{"kind":"watchdog"}`), or null. */
function exitKind(detail: string | null): string | null {
  if (detail === null) return null;
  try {
    const parsed: unknown = JSON.parse(detail);
    if (typeof parsed === 'object' && parsed !== null && 'kind' in parsed && typeof parsed.kind === 'string')
      return parsed.kind;
  } catch {
    // not JSON: an exit recorded without a kind
  }
  return null;
}

/** Reads and writes the supervisor's tables. */
export class SupervisorStore {
  constructor(private readonly handle: DbHandle) {}

  /** Runs `work` in one `BEGIN IMMEDIATE` transaction. */
  transaction<T>(work: () => T): T {
    return this.handle.sqlite.transaction(work).immediate();
  }

  /** The worker's row, or null before the supervisor ever wrote it. */
  state(): WorkerState | null {
    const row = this.handle.db
      .select()
      .from(supervisorState)
      .where(eq(supervisorState.name, WORKER_APP))
      .get();
    if (!row) return null;
    return {
      status: row.status as WorkerStatus | null,
      reason: row.reason,
      restartsInWindow: row.restartsInWindow,
      lastExitCode: row.lastExitCode,
      revision: row.revision,
      since: row.since,
    };
  }

  /** Updates the worker's row (creating it); `since` becomes `now` when the status changes. */
  updateState(patch: WorkerStatePatch, now: number): WorkerState {
    return this.transaction(() => {
      const before = this.state();
      const status = patch.status !== undefined ? patch.status : (before?.status ?? null);
      const next: WorkerState = {
        status,
        reason: patch.reason !== undefined ? patch.reason : (before?.reason ?? null),
        restartsInWindow: patch.restartsInWindow ?? before?.restartsInWindow ?? 0,
        lastExitCode: patch.lastExitCode !== undefined ? patch.lastExitCode : (before?.lastExitCode ?? null),
        revision: patch.revision !== undefined ? patch.revision : (before?.revision ?? null),
        since: before && before.status === status ? before.since : now,
      };
      this.handle.db
        .insert(supervisorState)
        .values({ name: WORKER_APP, ...next, updatedAt: now })
        .onConflictDoUpdate({ target: supervisorState.name, set: { ...next, updatedAt: now } })
        .run();
      return next;
    });
  }

  /** When the worker last wrote its heartbeat, or null. */
  heartbeatAt(): number | null {
    const row = this.handle.db
      .select({ at: supervisorState.heartbeatAt })
      .from(supervisorState)
      .where(eq(supervisorState.name, HEARTBEAT_ROW))
      .get();
    return row?.at ?? null;
  }

  /** Appends an event; returns its id. */
  record(event: NewEvent): number {
    const detail =
      event.detail === undefined || event.detail === null
        ? null
        : typeof event.detail === 'string'
          ? event.detail
          : JSON.stringify(event.detail);
    const row = this.handle.db
      .insert(supervisorEvents)
      .values({
        at: event.at,
        app: event.app ?? WORKER_APP,
        event: event.event,
        exitCode: event.exitCode ?? null,
        uptimeMs: event.uptimeMs ?? null,
        manual: event.manual ?? null,
        revision: event.revision ?? null,
        detail,
      })
      .returning({ id: supervisorEvents.id })
      .get();
    return row.id;
  }

  /** The worker's events, oldest first (all of them, or those after `afterId`). */
  events(afterId = 0): EventRecord[] {
    return this.handle.db
      .select()
      .from(supervisorEvents)
      .where(and(eq(supervisorEvents.app, WORKER_APP), gt(supervisorEvents.id, afterId)))
      .orderBy(supervisorEvents.id)
      .all();
  }

  /** The newest `limit` events of every app, oldest first (for the CLI). */
  recentEvents(limit: number): EventRecord[] {
    return this.handle.db
      .select()
      .from(supervisorEvents)
      .orderBy(desc(supervisorEvents.id))
      .limit(limit)
      .all()
      .reverse();
  }

  /** The newest event among `names` (about `revision`, when given) of `app` (the worker), or null. */
  lastEvent(names: readonly string[], revision?: string, app: string = WORKER_APP): EventRecord | null {
    return (
      this.handle.db
        .select()
        .from(supervisorEvents)
        .where(
          and(
            eq(supervisorEvents.app, app),
            inArray(supervisorEvents.event, [...names]),
            revision === undefined ? undefined : eq(supervisorEvents.revision, revision),
          ),
        )
        .orderBy(desc(supervisorEvents.id))
        .limit(1)
        .get() ?? null
    );
  }

  /** The worker's recorded exits since `since` (ms), oldest first, as the detector reads them. */
  exitsSince(since: number): ExitRecord[] {
    return this.handle.db
      .select({
        at: supervisorEvents.at,
        uptimeMs: supervisorEvents.uptimeMs,
        exitCode: supervisorEvents.exitCode,
        manual: supervisorEvents.manual,
        revision: supervisorEvents.revision,
        detail: supervisorEvents.detail,
      })
      .from(supervisorEvents)
      .where(
        and(
          eq(supervisorEvents.app, WORKER_APP),
          eq(supervisorEvents.event, 'exit'),
          gt(supervisorEvents.at, since),
        ),
      )
      .orderBy(supervisorEvents.id)
      .all()
      .map(({ detail, ...row }) => ({
        ...row,
        manual: row.manual === true,
        watchdog: exitKind(detail) === 'watchdog',
      }));
  }

  /** All revisions, newest first. */
  revisions(): RevisionRecord[] {
    return this.handle.db
      .select()
      .from(supervisorRevisions)
      .orderBy(desc(supervisorRevisions.createdAt), desc(supervisorRevisions.id))
      .all();
  }

  /** One revision, or null. */
  revision(id: string): RevisionRecord | null {
    return (
      this.handle.db.select().from(supervisorRevisions).where(eq(supervisorRevisions.id, id)).get() ?? null
    );
  }

  /** Records a new revision. */
  addRevision(
    revision: Omit<RevisionRecord, 'promotedAt' | 'badAt' | 'reason'> & { reason?: string | null },
  ): void {
    this.handle.db
      .insert(supervisorRevisions)
      .values({
        ...revision,
        reason: revision.reason ?? null,
        promotedAt: revision.status === 'good' ? revision.createdAt : null,
        badAt: null,
      })
      .run();
  }

  /** Marks a revision bad, with the reason (a sentence). */
  markBad(id: string, reason: string, now: number): void {
    this.handle.db
      .update(supervisorRevisions)
      .set({ status: 'bad', reason, badAt: now })
      .where(eq(supervisorRevisions.id, id))
      .run();
  }

  /** Marks a candidate good; false when it was not a candidate (any more). */
  promote(id: string, now: number): boolean {
    const result = this.handle.db
      .update(supervisorRevisions)
      .set({ status: 'good', promotedAt: now })
      .where(and(eq(supervisorRevisions.id, id), eq(supervisorRevisions.status, 'candidate')))
      .run();
    return result.changes > 0;
  }

  /** Forgets a revision (its folder is deleted by the caller). */
  deleteRevision(id: string): void {
    this.handle.db.delete(supervisorRevisions).where(eq(supervisorRevisions.id, id)).run();
  }
}
