import type Database from 'better-sqlite3';
import type { AgentJournal } from '../../agent/journal';
import { askApproval } from './ask-approval';
import { beginRun } from './begin-run';
import { expireApproval } from './expire-approval';
import { finishRun } from './finish-run';
import { markToolRunning } from './mark-tool-running';
import { parkRun } from './park-run';
import { recordModelStep } from './record-model-step';
import { runApprovals } from './run-approvals';
import { recordCompaction } from './session';
import { settleToolStep } from './settle-tool-step';
import { suspendRun } from './suspend-run';

/** The agent journal over the worker's SQLite connection (each operation durable on return). */
export function createSqliteJournal(sqlite: Database.Database): AgentJournal {
  return {
    begin: (request, now) => beginRun(sqlite, request, now),
    recordModel: (runId, response, now) => recordModelStep(sqlite, runId, response, now),
    markRunning: (stepId, now) => markToolRunning(sqlite, stepId, now),
    settleTool: (stepId, status, result, now) => settleToolStep(sqlite, stepId, status, result, now),
    approvals: (runId) => runApprovals(sqlite, runId),
    askApproval: (ask, now) => askApproval(sqlite, ask, now),
    expireApproval: (id, now) => expireApproval(sqlite, id, now),
    park: (runId, now) => parkRun(sqlite, runId, now),
    suspend: (runId, error, now) => suspendRun(sqlite, runId, error, now),
    finish: (runId, outcome, now) => void finishRun(sqlite, runId, outcome, now),
    recordCompaction: (input, now) => recordCompaction(sqlite, input, now),
  };
}
