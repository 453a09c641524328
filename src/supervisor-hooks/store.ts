// The supervisor's tables: `supervisor_state`, `supervisor_events`, `supervisor_revisions`.
// Nothing here touches another table. Plain statements, prepared once per connection: drizzle
// would be the largest thing the supervisor loads, for a dozen queries (its idle memory counts).
import type { DbHandle } from '../db/open';
import type { RevisionStatus } from '../db/schema';
import { prepared } from '../db/statements';
import { HEARTBEAT_ROW, ROLLBACK_EVENT, WORKER_APP } from '../shared/contracts';
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
}

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
  addRevision(
    revision: Omit<RevisionRecord, 'promotedAt' | 'badAt' | 'reason'> & { reason?: string | null },
  ): void {
    prepared(
      this.sqlite,
      `INSERT INTO supervisor_revisions (id, path, status, reason, source, created_at, promoted_at, bad_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, NULL)`,
    ).run(
      revision.id,
      revision.path,
      revision.status,
      revision.reason ?? null,
      revision.source,
      revision.createdAt,
      revision.status === 'good' ? revision.createdAt : null,
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
}

const EVENT_COLUMNS =
  'id, at, app, event, exit_code AS exitCode, uptime_ms AS uptimeMs, manual, revision, detail';
const REVISION_COLUMNS =
  'id, path, status, reason, source, created_at AS createdAt, promoted_at AS promotedAt, bad_at AS badAt';

// `manual` is stored as 0/1 (or NULL when not known)
type RawEvent = Omit<EventRecord, 'manual'> & { readonly manual: number | null };
type RawExit = Omit<ExitRecord, 'manual' | 'watchdog'> & {
  readonly manual: number | null;
  readonly detail: string | null;
};

function toEvent(row: RawEvent): EventRecord {
  return { ...row, manual: row.manual === null ? null : row.manual !== 0 };
}
