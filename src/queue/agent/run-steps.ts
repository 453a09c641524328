import type Database from 'better-sqlite3';
import { prepared } from '../statements';
import { STEP_COLUMNS, type StepRow } from './rows';

/** The steps of a run in order. */
export function runSteps(sqlite: Database.Database, runId: number): StepRow[] {
  return prepared(sqlite, `SELECT ${STEP_COLUMNS} FROM agent_steps WHERE run_id = ? ORDER BY seq`).all(
    runId,
  ) as StepRow[];
}
