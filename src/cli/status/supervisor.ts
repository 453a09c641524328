import type Database from 'better-sqlite3';

/** The supervisor's view of the worker (`supervisor_state` row `autonous-worker`). */
export interface SupervisorView {
  readonly status: string | null;
  readonly reason: string | null;
  readonly restartsInWindow: number;
  readonly lastExitCode: number | null;
  readonly revision: string | null;
  readonly since: number | null;
  readonly updatedAt: number;
}

/** A revision of the worker (`supervisor_revisions`). */
export interface RevisionView {
  readonly id: string;
  readonly status: string;
  readonly reason: string | null;
  readonly source: string | null;
  readonly createdAt: number;
  readonly promotedAt: number | null;
  readonly badAt: number | null;
}

/** What the supervisor and the worker's heartbeat have recorded. */
export interface SupervisorRecords {
  readonly worker: SupervisorView | null;
  /** When the worker last wrote its heartbeat, or null when it never did. */
  readonly heartbeatAt: number | null;
  /** The revision the worker runs, as the supervisor recorded it. */
  readonly revision: RevisionView | null;
}

/** The worker's row name in `supervisor_state`, and the row the worker's heartbeat goes to. */
export const WORKER_STATE_ROW = 'autonous-worker';
export const HEARTBEAT_ROW = 'worker-heartbeat';

/** Reads the supervisor's records (read-only). */
export function readSupervisor(sqlite: Database.Database): SupervisorRecords {
  const worker = sqlite
    .prepare(
      `SELECT status, reason, restarts_in_window AS restartsInWindow, last_exit_code AS lastExitCode, revision,
         since, updated_at AS updatedAt FROM supervisor_state WHERE name = ?`,
    )
    .get(WORKER_STATE_ROW) as SupervisorView | undefined;
  const heartbeat = sqlite
    .prepare('SELECT heartbeat_at AS at FROM supervisor_state WHERE name = ?')
    .get(HEARTBEAT_ROW) as { at: number | null } | undefined;
  const revision =
    worker?.revision != null
      ? (sqlite
          .prepare(
            `SELECT id, status, reason, source, created_at AS createdAt, promoted_at AS promotedAt, bad_at AS badAt
             FROM supervisor_revisions WHERE id = ?`,
          )
          .get(worker.revision) as RevisionView | undefined)
      : undefined;
  return { worker: worker ?? null, heartbeatAt: heartbeat?.at ?? null, revision: revision ?? null };
}
