import type { DbHandle } from '../../db/open';
import { type RevisionRecord, SupervisorStore, type WorkerStateRecord } from '../../supervisor-hooks/store';

/** The supervisor's view of the worker (its `supervisor_state` row). */
export type SupervisorView = WorkerStateRecord;

/** A revision of the worker (`supervisor_revisions`), without where its folder is. */
export type RevisionView = Omit<RevisionRecord, 'path'>;

/** What the supervisor and the worker's heartbeat have recorded. */
export interface SupervisorRecords {
  readonly worker: SupervisorView | null;
  /** When the worker last wrote its heartbeat, or null when it never did. */
  readonly heartbeatAt: number | null;
  /** The revision the worker runs, as the supervisor recorded it. */
  readonly revision: RevisionView | null;
}

/** Reads the supervisor's records (read-only), through the supervisor's own store. */
export function readSupervisor(handle: DbHandle): SupervisorRecords {
  const store = new SupervisorStore(handle);
  const worker = store.state();
  const record = worker?.revision != null ? store.revision(worker.revision) : null;
  let revision: RevisionView | null = null;
  if (record !== null) {
    const { path: _path, ...view } = record;
    revision = view;
  }
  return { worker, heartbeatAt: store.heartbeatAt(), revision };
}
