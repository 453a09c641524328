import type Database from 'better-sqlite3';
import type { RunSummary } from './list-runs';
import { runSummarySql } from './list-runs';
import type { ApprovalRecord, StepRow } from './rows';
import { runApprovals } from './run-approvals';
import { runSteps } from './run-steps';

/** One run with all its steps and approvals, for `runs show`. */
export interface RunDetail {
  readonly run: RunSummary;
  readonly steps: StepRow[];
  readonly approvals: ApprovalRecord[];
}

/** A run with its steps and approvals, or undefined when there is no such run. */
export function showRun(sqlite: Database.Database, runId: number): RunDetail | undefined {
  const run = sqlite.prepare(runSummarySql('WHERE r.id = ?')).get(runId) as RunSummary | undefined;
  if (run === undefined) return undefined;
  return { run, steps: runSteps(sqlite, runId), approvals: runApprovals(sqlite, runId) };
}
