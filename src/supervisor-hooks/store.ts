// The supervisor's tables: `supervisor_state`, `supervisor_events`, `supervisor_revisions`, and
// the judge's columns of `self_releases` (what was built, and what became of it; never the chat's
// columns, so nothing here can learn who asked or what the release said). Nothing here touches
// another table. Plain statements, prepared once per connection: drizzle would be the largest
// thing the supervisor loads, for a dozen queries (its idle memory counts).
import { type DbHandle, isMigrated } from '../db/open';
import type { RevisionStatus } from '../db/schema';
import { prepared } from '../db/statements';
import {
  HEARTBEAT_ROW,
  parseReadiness,
  type Readiness,
  ROLLBACK_EVENT,
  WORKER_APP,
} from '../shared/contracts';
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

/** The worker's row as stored, with when it was last written (ms). */
export interface WorkerStateRecord extends WorkerState {
  readonly updatedAt: number;
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
  | 'not_ready'
  | 'config_exit'
  | 'self_release_failed'
  | typeof ROLLBACK_EVENT
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
  /** Who made it (`cli`, `first-start`, `self-release`); null for revisions from before this was kept. */
  readonly origin: string | null;
  /** The git commit it was built from, when known. */
  readonly commit: string | null;
  /** What its checks said before it was released (`CheckSummary` as JSON), for a self-release. */
  readonly checks: string | null;
}

/** A revision to record: `origin`, `commit` and `checks` say where it came from, when known. */
export type NewRevision = Omit<
  RevisionRecord,
  'promotedAt' | 'badAt' | 'reason' | 'origin' | 'commit' | 'checks'
> & {
  readonly reason?: string | null;
  readonly origin?: string | null;
  readonly commit?: string | null;
  readonly checks?: string | null;
};

/** A self-release an approver asked for, as far as the judge reads it (never the chat's columns). */
export interface SelfReleaseRequest {
  readonly id: number;
  readonly commit: string | null;
  /** The folder holding the built `dist/` and `drizzle/` (absolute). */
  readonly buildDir: string | null;
  /** `CheckSummary` as JSON. */
  readonly checks: string | null;
  /** The revision that ran when it was asked for. */
  readonly baseRevision: string | null;
}

/** What became of a self-release, as the judge recorded it. */
export interface SelfReleaseOutcome {
  readonly id: number;
  readonly status: string;
  readonly commit: string | null;
  readonly revision: string | null;
  readonly reason: string | null;
  readonly rolledBackTo: string | null;
}

/** How a released self-release ended: promoted, or rolled back (to nothing when halted). */
export type SelfReleaseSettlement =
  | { readonly status: 'promoted' }
  | { readonly status: 'rolled_back'; readonly reason: string; readonly rolledBackTo: string | null };

/** Events after which crash counting starts again, and after which `current` was re-pointed. */
export const RESET_EVENTS: readonly SupervisorEventName[] = ['release', ROLLBACK_EVENT, 'resume'];
export const SWAP_EVENTS: readonly SupervisorEventName[] = ['release', ROLLBACK_EVENT];

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

  private get sqlite(): DbHandle['sqlite'] {
    return this.handle.sqlite;
  }

  /** Runs `work` in one `BEGIN IMMEDIATE` transaction. */
  transaction<T>(work: () => T): T {
    return this.sqlite.transaction(work).immediate();
  }

  /** The worker's row, or null before the supervisor ever wrote it. */
  state(): WorkerStateRecord | null {
    const row = prepared<[string], WorkerStateRecord>(
      this.sqlite,
      `SELECT status, reason, restarts_in_window AS restartsInWindow, last_exit_code AS lastExitCode,
         revision, since, updated_at AS updatedAt
       FROM supervisor_state WHERE name = ?`,
    ).get(WORKER_APP);
    return row ?? null;
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
      prepared(
        this.sqlite,
        `INSERT INTO supervisor_state
           (name, status, reason, restarts_in_window, last_exit_code, revision, since, updated_at)
         VALUES (@name, @status, @reason, @restartsInWindow, @lastExitCode, @revision, @since, @updatedAt)
         ON CONFLICT(name) DO UPDATE SET status = excluded.status, reason = excluded.reason,
           restarts_in_window = excluded.restarts_in_window, last_exit_code = excluded.last_exit_code,
           revision = excluded.revision, since = excluded.since, updated_at = excluded.updated_at`,
      ).run({ name: WORKER_APP, ...next, updatedAt: now });
      return next;
    });
  }

  /** When the worker last wrote its heartbeat, or null. */
  heartbeatAt(): number | null {
    const row = prepared<[string], { at: number | null }>(
      this.sqlite,
      'SELECT heartbeat_at AS at FROM supervisor_state WHERE name = ?',
    ).get(HEARTBEAT_ROW);
    return row?.at ?? null;
  }

  /** What the worker reports of its readiness in its own row, or null (none, or unreadable). */
  readiness(): Readiness | null {
    const row = prepared<[string], { readiness: string | null }>(
      this.sqlite,
      'SELECT readiness FROM supervisor_state WHERE name = ?',
    ).get(HEARTBEAT_ROW);
    return parseReadiness(row?.readiness);
  }

  /** Appends an event; returns its id. */
  record(event: NewEvent): number {
    const detail =
      event.detail === undefined || event.detail === null
        ? null
        : typeof event.detail === 'string'
          ? event.detail
          : JSON.stringify(event.detail);
    const manual = event.manual === undefined || event.manual === null ? null : event.manual ? 1 : 0;
    const result = prepared(
      this.sqlite,
      `INSERT INTO supervisor_events (at, app, event, exit_code, uptime_ms, manual, revision, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      event.at,
      event.app ?? WORKER_APP,
      event.event,
      event.exitCode ?? null,
      event.uptimeMs ?? null,
      manual,
      event.revision ?? null,
      detail,
    );
    return Number(result.lastInsertRowid);
  }

  /** The worker's events, oldest first (all of them, or those after `afterId`). */
  events(afterId = 0): EventRecord[] {
    return prepared<[string, number], RawEvent>(
      this.sqlite,
      `SELECT ${EVENT_COLUMNS} FROM supervisor_events WHERE app = ? AND id > ? ORDER BY id`,
    )
      .all(WORKER_APP, afterId)
      .map(toEvent);
  }

  /** The newest `limit` events of every app, oldest first (for the CLI). */
  recentEvents(limit: number): EventRecord[] {
    return prepared<[number], RawEvent>(
      this.sqlite,
      `SELECT ${EVENT_COLUMNS} FROM supervisor_events ORDER BY id DESC LIMIT ?`,
    )
      .all(limit)
      .map(toEvent)
      .reverse();
  }

  /** The newest event among `names` (about `revision`, when given) of `app` (the worker), or null. */
  lastEvent(names: readonly string[], revision?: string, app: string = WORKER_APP): EventRecord | null {
    // the names travel as one JSON array, so the statement is the same whatever their number
    const row = prepared<[{ app: string; names: string; revision: string | null }], RawEvent>(
      this.sqlite,
      `SELECT ${EVENT_COLUMNS} FROM supervisor_events
       WHERE app = @app AND event IN (SELECT value FROM json_each(@names))
         AND (@revision IS NULL OR revision = @revision)
       ORDER BY id DESC LIMIT 1`,
    ).get({ app, names: JSON.stringify(names), revision: revision ?? null });
    return row === undefined ? null : toEvent(row);
  }

  /**
   * Every event about `revision`, oldest first, for the CLI: those recorded under it, and the
   * rollbacks away from it (recorded under the revision they went to).
   */
  eventsOf(revision: string): EventRecord[] {
    // CASE, because SQLite may evaluate both sides of an AND: json_extract fails on a non-JSON detail
    return prepared<{ revision: string }, RawEvent>(
      this.sqlite,
      `SELECT ${EVENT_COLUMNS} FROM supervisor_events
       WHERE revision = @revision
          OR CASE WHEN event = '${ROLLBACK_EVENT}' AND json_valid(detail)
               THEN json_extract(detail, '$.from') END = @revision
       ORDER BY id`,
    )
      .all({ revision })
      .map(toEvent);
  }

  /** The worker's recorded exits since `since` (ms), oldest first, as the detector reads them. */
  exitsSince(since: number): ExitRecord[] {
    return prepared<[string, number], RawExit>(
      this.sqlite,
      `SELECT at, uptime_ms AS uptimeMs, exit_code AS exitCode, manual, revision, detail
       FROM supervisor_events WHERE app = ? AND event = 'exit' AND at > ? ORDER BY id`,
    )
      .all(WORKER_APP, since)
      .map(({ detail, ...row }) => ({
        ...row,
        manual: row.manual !== null && row.manual !== 0,
        watchdog: exitKind(detail) === 'watchdog',
      }));
  }

  /** All revisions, newest first. */
  revisions(): RevisionRecord[] {
    return prepared<[], RevisionRecord>(
      this.sqlite,
      `SELECT ${REVISION_COLUMNS} FROM supervisor_revisions ORDER BY created_at DESC, id DESC`,
    ).all();
  }

  /** One revision, or null. */
  revision(id: string): RevisionRecord | null {
    return (
      prepared<[string], RevisionRecord>(
        this.sqlite,
        `SELECT ${REVISION_COLUMNS} FROM supervisor_revisions WHERE id = ?`,
      ).get(id) ?? null
    );
  }

  /** Records a new revision. */
  addRevision(revision: NewRevision): void {
    prepared(
      this.sqlite,
      `INSERT INTO supervisor_revisions
         (id, path, status, reason, source, created_at, promoted_at, bad_at, origin, "commit", checks)
       VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`,
    ).run(
      revision.id,
      revision.path,
      revision.status,
      revision.reason ?? null,
      revision.source,
      revision.createdAt,
      revision.status === 'good' ? revision.createdAt : null,
      revision.origin ?? null,
      revision.commit ?? null,
      revision.checks ?? null,
    );
  }

  /** Marks a revision bad, with the reason (a sentence). */
  markBad(id: string, reason: string, now: number): void {
    prepared(
      this.sqlite,
      `UPDATE supervisor_revisions SET status = 'bad', reason = ?, bad_at = ? WHERE id = ?`,
    ).run(reason, now, id);
  }

  /** Marks a candidate good; false when it was not a candidate (any more). */
  promote(id: string, now: number): boolean {
    const result = prepared(
      this.sqlite,
      `UPDATE supervisor_revisions SET status = 'good', promoted_at = ? WHERE id = ? AND status = 'candidate'`,
    ).run(now, id);
    return result.changes > 0;
  }

  /** Forgets a revision (its folder is deleted by the caller). */
  deleteRevision(id: string): void {
    prepared(this.sqlite, 'DELETE FROM supervisor_revisions WHERE id = ?').run(id);
  }

  /** The oldest self-release waiting for the judge, or null. */
  requestedSelfRelease(): SelfReleaseRequest | null {
    return (
      prepared<[], SelfReleaseRequest>(
        this.sqlite,
        `SELECT id, "commit", build_dir AS buildDir, checks, base_revision AS baseRevision
         FROM self_releases WHERE status = 'requested' ORDER BY id LIMIT 1`,
      ).get() ?? null
    );
  }

  /**
   * Marks a requested self-release released as `revision`; false when it is no longer requested
   * (then the caller must not release it).
   */
  markSelfReleaseReleased(id: number, revision: string, now: number): boolean {
    return (
      prepared(
        this.sqlite,
        `UPDATE self_releases SET status = 'released', revision = ?, reason = NULL, updated_at = ?
         WHERE id = ? AND status = 'requested'`,
      ).run(revision, now, id).changes > 0
    );
  }

  /** Marks a requested self-release failed with the reason (a sentence); false when it was not requested. */
  markSelfReleaseFailed(id: number, reason: string, now: number): boolean {
    return (
      prepared(
        this.sqlite,
        `UPDATE self_releases SET status = 'failed', reason = ?, updated_at = ?
         WHERE id = ? AND status = 'requested'`,
      ).run(reason, now, id).changes > 0
    );
  }

  /**
   * Records how the self-release that made `revision` ended, if one did and it was still waiting
   * for its outcome (`released`); false otherwise.
   */
  settleSelfRelease(revision: string, outcome: SelfReleaseSettlement, now: number): boolean {
    const rolledBack = outcome.status === 'rolled_back';
    return (
      prepared(
        this.sqlite,
        `UPDATE self_releases SET status = ?, reason = ?, rolled_back_to = ?, updated_at = ?
         WHERE revision = ? AND status = 'released'`,
      ).run(
        outcome.status,
        rolledBack ? outcome.reason : null,
        rolledBack ? outcome.rolledBackTo : null,
        now,
        revision,
      ).changes > 0
    );
  }

  /** The self-release that made `revision`, or null. */
  selfReleaseOf(revision: string): SelfReleaseOutcome | null {
    return (
      prepared<[string], SelfReleaseOutcome>(
        this.sqlite,
        `SELECT id, status, "commit", revision, reason, rolled_back_to AS rolledBackTo
         FROM self_releases WHERE revision = ? ORDER BY id DESC LIMIT 1`,
      ).get(revision) ?? null
    );
  }

  /** True when the migrations of `drizzleDir` include some this database has not applied. */
  hasPendingMigrations(drizzleDir: string): boolean {
    return !isMigrated(this.sqlite, drizzleDir);
  }

  /**
   * Writes a consistent copy of the whole database to `file` (`VACUUM INTO`): readers and the
   * worker go on meanwhile. Not inside a transaction (SQLite refuses).
   */
  copyDatabaseTo(file: string): void {
    prepared<[string]>(this.sqlite, 'VACUUM INTO ?').run(file);
  }
}

const EVENT_COLUMNS =
  'id, at, app, event, exit_code AS exitCode, uptime_ms AS uptimeMs, manual, revision, detail';
const REVISION_COLUMNS = `id, path, status, reason, source, created_at AS createdAt, promoted_at AS promotedAt,
  bad_at AS badAt, origin, "commit", checks`;

// `manual` is stored as 0/1 (or NULL when not known)
type RawEvent = Omit<EventRecord, 'manual'> & { readonly manual: number | null };
type RawExit = Omit<ExitRecord, 'manual' | 'watchdog'> & {
  readonly manual: number | null;
  readonly detail: string | null;
};

function toEvent(row: RawEvent): EventRecord {
  return { ...row, manual: row.manual === null ? null : row.manual !== 0 };
}
