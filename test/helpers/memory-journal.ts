/** An in-memory AgentJournal with the SQLite journal's semantics, for fast loop tests. */
import type {
  AgentJournal,
  ApprovalRecord,
  JournalStep,
  ModelStep,
  RunOutcome,
  RunStatus,
  ToolStep,
} from '../../src/agent/journal';
import type { ImageRef } from '../../src/agent/ports';

interface MemoryRun {
  id: number;
  inboxId: number;
  status: RunStatus;
  startedAt: number;
  parkedAt: number | null;
  parkedMs: number;
  suspended: boolean;
  resumes: number;
  stalledResumes: number;
  progressMark: number;
  answer: string | null;
  error: string | null;
  message: string;
  /** The images of the message, as the request gave them (absent when it gave none). */
  images?: readonly ImageRef[];
  steps: JournalStep[];
}

/** The journal and a view of its runs and approvals for assertions. */
export interface MemoryJournal extends AgentJournal {
  readonly runs: MemoryRun[];
  readonly allApprovals: ApprovalRecord[];
  /** Decides an approval as a press would. */
  setCard(id: number, messageId: number): void;
  decide(id: number, status: 'allowed' | 'denied', scope: 'once' | 'run' | null, now: number): void;
}

/** A new, empty in-memory journal. */
export function memoryJournal(): MemoryJournal {
  const runs: MemoryRun[] = [];
  const approvals: ApprovalRecord[] = [];
  let nextStepId = 1;
  const runOf = (id: number): MemoryRun => runs.find((r) => r.id === id)!;
  const stepOf = (id: number): { run: MemoryRun; index: number } => {
    for (const run of runs) {
      const index = run.steps.findIndex((s) => s.id === id);
      if (index >= 0) return { run, index };
    }
    throw new Error(`no step ${id}`);
  };
  const updateTool = (id: number, change: Partial<ToolStep>): void => {
    const { run, index } = stepOf(id);
    run.steps[index] = { ...(run.steps[index] as ToolStep), ...change };
  };
  return {
    runs,
    allApprovals: approvals,
    begin(request, now) {
      let run = runs.find((r) => r.inboxId === request.inboxId);
      let opening: 'new' | 'continued' | 'resumed' | 'finished';
      if (run === undefined) {
        run = {
          id: runs.length + 1,
          inboxId: request.inboxId,
          status: 'running',
          startedAt: now,
          parkedAt: null,
          parkedMs: 0,
          suspended: false,
          resumes: 0,
          stalledResumes: 0,
          progressMark: 0,
          answer: null,
          error: null,
          message: request.message,
          ...(request.images !== undefined ? { images: request.images } : {}),
          steps: [],
        };
        runs.push(run);
        opening = 'new';
      } else if (run.status !== 'running' && run.status !== 'parked') {
        opening = 'finished';
      } else if (run.status === 'parked' || run.suspended) {
        if (run.parkedAt !== null) run.parkedMs += now - run.parkedAt;
        run.parkedAt = null;
        run.status = 'running';
        run.suspended = false;
        opening = 'continued';
      } else {
        const settled = run.steps.filter(
          (s) =>
            s.kind === 'model' || (s.kind === 'tool' && s.status !== 'pending' && s.status !== 'running'),
        ).length;
        const running = run.steps.some((s) => s.kind === 'tool' && s.status === 'running');
        // as the SQLite journal: only a kill while a tool ran counts toward a stall
        run.stalledResumes =
          settled !== run.progressMark ? 0 : running ? run.stalledResumes + 1 : run.stalledResumes;
        run.progressMark = settled;
        run.resumes++;
        opening = 'resumed';
      }
      // no sessions here: a run sees only itself (test/integration covers sessions over SQLite)
      return {
        ...run,
        opening,
        steps: [...run.steps],
        compactionUsage: { promptTokens: 0, completionTokens: 0, cachedTokens: 0 },
        session: null,
      };
    },
    recordModel(runId, response, now) {
      void now;
      const run = runOf(runId);
      const seq = run.steps.length + 1;
      const model: ModelStep = {
        kind: 'model',
        id: nextStepId++,
        seq,
        ...response,
        toolCalls: [...response.toolCalls],
      };
      const tools: ToolStep[] = response.toolCalls.map((c, i) => ({
        kind: 'tool',
        id: nextStepId++,
        seq: seq + 1 + i,
        parentId: model.id,
        toolCallId: c.id,
        tool: c.name,
        arguments: c.arguments,
        status: 'pending',
      }));
      run.steps.push(model, ...tools);
      return { model, tools };
    },
    markRunning: (stepId) => updateTool(stepId, { status: 'running' }),
    settleTool: (stepId, status, result) => updateTool(stepId, { status, result }),
    approvals: (runId) => approvals.filter((a) => a.runId === runId),
    askApproval(ask, now) {
      const record: ApprovalRecord = {
        ...ask,
        id: approvals.length + 1,
        status: 'pending',
        scope: null,
        cardMessageId: null,
        askedAt: now,
        decidedAt: null,
        decidedBy: null,
      };
      approvals.push(record);
      return record;
    },
    expireApproval(id, now) {
      const i = approvals.findIndex((a) => a.id === id && a.status === 'pending');
      if (i >= 0) approvals[i] = { ...approvals[i]!, status: 'expired', decidedAt: now };
    },
    setCard(id, messageId) {
      const i = approvals.findIndex((a) => a.id === id);
      approvals[i] = { ...approvals[i]!, cardMessageId: messageId };
    },
    decide(id, status, scope, now) {
      const i = approvals.findIndex((a) => a.id === id);
      approvals[i] = { ...approvals[i]!, status, scope, decidedAt: now, decidedBy: 1 };
    },
    park(runId, now) {
      const run = runOf(runId);
      run.status = 'parked';
      run.parkedAt = now;
    },
    suspend(runId, error) {
      const run = runOf(runId);
      run.suspended = true;
      run.error = error;
    },
    recordCompaction() {
      throw new Error('the memory journal keeps no sessions, so nothing is compacted');
    },
    finish(runId, outcome: RunOutcome) {
      const run = runOf(runId);
      if (run.status !== 'running' && run.status !== 'parked') return;
      run.status = outcome.status;
      run.answer = outcome.answer ?? null;
      run.error = outcome.error ?? null;
    },
  };
}
