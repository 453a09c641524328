import { askApproval } from '../../src/queue/agent/ask-approval';
import { beginRun } from '../../src/queue/agent/begin-run';
import { decideApproval } from '../../src/queue/agent/decide-approval';
import { expireDueApprovals } from '../../src/queue/agent/expire-due-approvals';
import { finishRun } from '../../src/queue/agent/finish-run';
import { listRuns } from '../../src/queue/agent/list-runs';
import { markToolRunning } from '../../src/queue/agent/mark-tool-running';
import { nextApprovalExpiry } from '../../src/queue/agent/next-approval-expiry';
import { parkRun } from '../../src/queue/agent/park-run';
import { pendingApprovals } from '../../src/queue/agent/pending-approvals';
import { recordModelStep } from '../../src/queue/agent/record-model-step';
import { runForInbox } from '../../src/queue/agent/run-for-inbox';
import { settleToolStep } from '../../src/queue/agent/settle-tool-step';
import { showRun } from '../../src/queue/agent/show-run';
import { prepared } from '../../src/queue/statements';
import { suspendRun } from '../../src/queue/agent/suspend-run';
import { storeBatch } from '../../src/queue/enqueue';
import { openTempDb, removeTempDir, type TempDb } from '../helpers/temp-db';

let db: TempDb;
beforeEach(() => (db = openTempDb()));
afterEach(() => {
  db.close();
  removeTempDir(db.dir);
});

const T = 1_800_000_000_000;

function inboxItem(updateId: number, chatId = 42, text = `request ${updateId}`): number {
  storeBatch(
    db.sqlite,
    [{ updateId, chatId, messageId: updateId, kind: 'text', text, sentAt: T, status: 'queued' }],
    updateId + 1,
    T,
  );
  return (db.sqlite.prepare('SELECT id FROM inbox WHERE update_id = ?').get(updateId) as { id: number }).id;
}

const usage = { promptTokens: 1000, completionTokens: 50, cachedTokens: 200 };
const bashCall = { id: 'call_1', name: 'bash', arguments: '{"command":"npm test"}' };

describe('agent journal in SQLite', () => {
  it('creates one run per inbox item and reopens it with its steps', () => {
    const inboxId = inboxItem(1);
    const run = beginRun(db.sqlite, { inboxId, chatId: 42, project: 'default', message: 'do it' }, T);
    expect(run).toMatchObject({ opening: 'new', status: 'running', resumes: 0, steps: [] });
    const { model, tools } = recordModelStep(
      db.sqlite,
      run.id,
      { content: 'let me test', toolCalls: [bashCall], usage, model: 'gpt-x', finishReason: 'tool_calls' },
      T + 1,
    );
    expect(tools).toHaveLength(1);
    const again = beginRun(db.sqlite, { inboxId, chatId: 42, project: 'default', message: 'do it' }, T + 2);
    expect(again.id).toBe(run.id);
    expect(again.opening).toBe('resumed');
    expect(again.steps).toEqual([model, ...tools]);
  });

  it('counts resumes after a kill, stalled ones only while a tool ran and no step settled since the last', () => {
    const inboxId = inboxItem(1);
    const req = { inboxId, chatId: 42, project: 'default', message: 'do it' };
    const { id } = beginRun(db.sqlite, req, T);
    // killed during the model call: the message's attempts bound that, not the stall rule
    expect(beginRun(db.sqlite, req, T)).toMatchObject({ resumes: 1, stalledResumes: 0 });
    expect(beginRun(db.sqlite, req, T)).toMatchObject({ resumes: 2, stalledResumes: 0 });
    const { tools } = recordModelStep(
      db.sqlite,
      id,
      { content: null, toolCalls: [bashCall], usage, model: 'm', finishReason: 'tool_calls' },
      T,
    );
    expect(beginRun(db.sqlite, req, T)).toMatchObject({ resumes: 3, stalledResumes: 0 });
    markToolRunning(db.sqlite, tools[0]!.id, T);
    // marking a call running is not progress: only a settled step is
    expect(beginRun(db.sqlite, req, T)).toMatchObject({ resumes: 4, stalledResumes: 1 });
    expect(beginRun(db.sqlite, req, T)).toMatchObject({ resumes: 5, stalledResumes: 2 });
    settleToolStep(db.sqlite, tools[0]!.id, 'interrupted', { content: 'interrupted', isError: true }, T);
    expect(beginRun(db.sqlite, req, T)).toMatchObject({ resumes: 6, stalledResumes: 0 });
  });

  it('continues a parked or suspended run without counting a resume, adding the time parked', () => {
    const inboxId = inboxItem(1);
    const req = { inboxId, chatId: 42, project: 'default', message: 'do it' };
    const { id } = beginRun(db.sqlite, req, T);
    parkRun(db.sqlite, id, T + 1000);
    expect(beginRun(db.sqlite, req, T + 61_000)).toMatchObject({
      opening: 'continued',
      resumes: 0,
      parkedMs: 60_000,
    });
    suspendRun(db.sqlite, id, 'model server said 503', T + 62_000);
    expect(beginRun(db.sqlite, req, T + 70_000)).toMatchObject({
      opening: 'continued',
      resumes: 0,
      parkedMs: 60_000,
    });
    expect(beginRun(db.sqlite, req, T + 80_000)).toMatchObject({ opening: 'resumed', resumes: 1 });
  });

  it('keeps the outcome of a finished run, which a second finish does not change', () => {
    const inboxId = inboxItem(1);
    const req = { inboxId, chatId: 42, project: 'default', message: 'do it' };
    const { id } = beginRun(db.sqlite, req, T);
    expect(finishRun(db.sqlite, id, { status: 'done', answer: 'the answer' }, T + 5)).toBe(true);
    expect(finishRun(db.sqlite, id, { status: 'failed', error: 'late' }, T + 6)).toBe(false);
    expect(runForInbox(db.sqlite, inboxId)).toMatchObject({
      id,
      status: 'done',
      answer: 'the answer',
      finishedAt: T + 5,
    });
    expect(runForInbox(db.sqlite, inboxId + 1)).toBeUndefined();
    expect(beginRun(db.sqlite, req, T + 7)).toMatchObject({
      opening: 'finished',
      status: 'done',
      answer: 'the answer',
    });
  });

  it('keeps the run when its inbox item is purged', () => {
    const inboxId = inboxItem(1);
    const { id } = beginRun(db.sqlite, { inboxId, chatId: 42, project: 'default', message: 'do it' }, T);
    db.sqlite.prepare('DELETE FROM inbox WHERE id = ?').run(inboxId);
    expect(showRun(db.sqlite, id)?.run).toMatchObject({ inboxId: null, request: null });
  });

  describe('approvals', () => {
    function pending(expiresAt = T + 60_000) {
      const inboxId = inboxItem(1);
      const run = beginRun(db.sqlite, { inboxId, chatId: 42, project: 'default', message: 'do it' }, T);
      const { tools } = recordModelStep(
        db.sqlite,
        run.id,
        { content: null, toolCalls: [bashCall], usage, model: 'm', finishReason: 'tool_calls' },
        T,
      );
      const approval = askApproval(
        db.sqlite,
        {
          runId: run.id,
          stepId: tools[0]!.id,
          toolCallId: 'call_1',
          tool: 'bash',
          callHash: 'h',
          chatId: 42,
          expiresAt,
        },
        T,
      );
      return { inboxId, run, approval };
    }

    it('applies the first decision only, with who and when', () => {
      const { approval, inboxId } = pending();
      const first = decideApproval(db.sqlite, {
        approvalId: approval.id,
        decision: 'allow-run',
        decidedBy: 7,
        now: T + 5,
      });
      expect(first).toMatchObject({
        outcome: 'decided',
        inboxId,
        approval: { status: 'allowed', scope: 'run', decidedBy: 7, decidedAt: T + 5 },
      });
      const second = decideApproval(db.sqlite, {
        approvalId: approval.id,
        decision: 'deny',
        decidedBy: 8,
        now: T + 6,
      });
      expect(second).toMatchObject({ outcome: 'already', approval: { status: 'allowed', decidedBy: 7 } });
      expect(decideApproval(db.sqlite, { approvalId: 999, decision: 'deny', decidedBy: 7, now: T })).toEqual({
        outcome: 'unknown',
      });
    });

    it('refuses a decision past the timeout and marks the approval expired', () => {
      const { approval } = pending(T + 60_000);
      const late = decideApproval(db.sqlite, {
        approvalId: approval.id,
        decision: 'allow-once',
        decidedBy: 7,
        now: T + 60_000,
      });
      expect(late).toMatchObject({ outcome: 'expired', approval: { status: 'expired', decidedBy: null } });
    });

    it('sweeps the due approvals for the worker, and says when the next one is due', () => {
      const { approval, inboxId } = pending(T + 60_000);
      expect(nextApprovalExpiry(db.sqlite)).toBe(T + 60_000);
      expect(pendingApprovals(db.sqlite, 10)).toEqual([
        expect.objectContaining({ id: approval.id, arguments: bashCall.arguments, inboxId, tool: 'bash' }),
      ]);
      expect(expireDueApprovals(db.sqlite, T + 59_999)).toEqual([]);
      const swept = expireDueApprovals(db.sqlite, T + 60_000);
      expect(swept).toEqual([
        { approval: expect.objectContaining({ id: approval.id, status: 'expired' }), inboxId },
      ]);
      expect(nextApprovalExpiry(db.sqlite)).toBeUndefined();
      expect(pendingApprovals(db.sqlite, 10)).toEqual([]);
    });
  });

  it('lists runs newest first by chat and status, and shows one with its steps and approvals', () => {
    const a = beginRun(
      db.sqlite,
      { inboxId: inboxItem(1, 42, 'first'), chatId: 42, project: 'default', message: 'do it' },
      T,
    );
    const b = beginRun(
      db.sqlite,
      { inboxId: inboxItem(2, 43, 'second'), chatId: 43, project: 'p', message: 'do it' },
      T + 1,
    );
    const { tools } = recordModelStep(
      db.sqlite,
      a.id,
      { content: null, toolCalls: [bashCall], usage, model: 'gpt-x', finishReason: 'tool_calls' },
      T + 10,
    );
    markToolRunning(db.sqlite, tools[0]!.id, T + 20);
    settleToolStep(
      db.sqlite,
      tools[0]!.id,
      'done',
      { content: 'exit 0\nok', isError: false, exitCode: 0, outputPath: '/runs/1/out.txt' },
      T + 1520,
    );
    finishRun(db.sqlite, a.id, { status: 'done', answer: 'ok' }, T + 2000);

    expect(listRuns(db.sqlite, { limit: 10 }).map((r) => r.id)).toEqual([b.id, a.id]);
    expect(listRuns(db.sqlite, { chatId: 42, limit: 10 }).map((r) => r.id)).toEqual([a.id]);
    expect(listRuns(db.sqlite, { status: 'running', limit: 10 }).map((r) => r.id)).toEqual([b.id]);
    const detail = showRun(db.sqlite, a.id)!;
    expect(detail.run).toMatchObject({
      request: 'first',
      status: 'done',
      steps: 1,
      toolCalls: 1,
      promptTokens: 1000,
      completionTokens: 50,
      cachedTokens: 200,
    });
    expect(detail.steps[1]).toMatchObject({
      kind: 'tool',
      tool: 'bash',
      arguments: bashCall.arguments,
      status: 'done',
      exitCode: 0,
      durationMs: 1500,
      outputPath: '/runs/1/out.txt',
    });
    expect(showRun(db.sqlite, 999)).toBeUndefined();
  });

  it('prepares each statement once per connection', () => {
    const sql = 'SELECT count(*) FROM agent_runs';
    expect(prepared(db.sqlite, sql)).toBe(prepared(db.sqlite, sql));
  });
});
