import type { PendingApproval } from '../../src/queue/agent/pending-approvals';
import {
  pendingApprovalJson,
  pendingApprovalOf,
  runDetailJson,
  stepJson,
  stepOf,
} from '../../src/queue/agent/run-detail';
import type { StepRow } from '../../src/queue/agent/rows';

// The read model of `runs show` and `approvals ls`: stored JSON is parsed once and safely, and
// the `--json` form carries exactly the documented fields.

const BLANK: StepRow = {
  id: 1,
  runId: 1,
  seq: 1,
  kind: 'model',
  parentId: null,
  inboxId: null,
  providerFields: null,
  reasoningTokens: null,
  content: null,
  toolCalls: null,
  model: null,
  finishReason: null,
  promptTokens: null,
  completionTokens: null,
  cachedTokens: null,
  toolCallId: null,
  tool: null,
  arguments: null,
  status: null,
  result: null,
  outputPath: null,
  isError: null,
  exitCode: null,
  startedAt: null,
  finishedAt: null,
  durationMs: null,
  createdAt: 5,
};

describe('the run read model', () => {
  it('counts the tool calls a model step asked for, and none when the stored text is not a JSON array', () => {
    expect(stepOf({ ...BLANK, toolCalls: '[{"id":"a"},{"id":"b"}]' })).toMatchObject({ toolCalls: 2 });
    expect(stepOf({ ...BLANK, toolCalls: '[{"id":' })).toMatchObject({ toolCalls: 0 });
    expect(stepOf({ ...BLANK, toolCalls: '{"id":"a"}' })).toMatchObject({ toolCalls: 0 });
    expect(stepOf(BLANK)).toMatchObject({ toolCalls: 0, at: 5 });
  });

  it('marks a response the provider sent reasoning with, and its reasoning tokens', () => {
    expect(
      stepOf({ ...BLANK, providerFields: '{"reasoning_content":"think"}', reasoningTokens: 812 }),
    ).toMatchObject({ kind: 'model', reasoning: true, reasoningTokens: 812 });
    expect(stepOf(BLANK)).toMatchObject({ reasoning: false, reasoningTokens: null });
  });

  it('shows a message steered into the run as a user step', () => {
    expect(stepOf({ ...BLANK, kind: 'user', inboxId: 9, content: 'also this' })).toEqual({
      seq: BLANK.seq,
      kind: 'user',
      inboxId: 9,
      content: 'also this',
      at: 5,
    });
  });

  it('parses tool arguments when they are JSON, keeps them as text when not, and prints no raw text', () => {
    const tool: StepRow = {
      ...BLANK,
      kind: 'tool',
      tool: 'bash',
      arguments: '{"command": "ls"}',
      isError: 0,
    };
    const view = stepOf(tool);
    expect(view).toMatchObject({
      arguments: { command: 'ls' },
      argumentsText: '{"command": "ls"}',
      isError: false,
    });
    expect(stepJson(view)).not.toHaveProperty('argumentsText');
    expect(stepJson(stepOf({ ...tool, arguments: '{"command":' }))).toMatchObject({
      arguments: '{"command":',
    });
    expect(Object.keys(stepJson(view))).toEqual([
      'seq',
      'kind',
      'toolCallId',
      'tool',
      'arguments',
      'status',
      'isError',
      'exitCode',
      'result',
      'outputPath',
      'startedAt',
      'finishedAt',
      'durationMs',
    ]);
  });

  it("prints a pending approval's parsed arguments, without its step, inbox item or raw text", () => {
    const row: PendingApproval = {
      id: 3,
      runId: 1,
      stepId: 2,
      toolCallId: 'call_1',
      tool: 'bash',
      callHash: 'h',
      status: 'pending',
      scope: null,
      chatId: 101,
      cardMessageId: null,
      askedAt: 1,
      expiresAt: 2,
      decidedAt: null,
      decidedBy: null,
      arguments: 'not json',
      inboxId: 9,
    };
    const json = pendingApprovalJson(pendingApprovalOf(row));
    expect(Object.keys(json)).toEqual([
      'id',
      'runId',
      'toolCallId',
      'tool',
      'callHash',
      'status',
      'scope',
      'chatId',
      'cardMessageId',
      'askedAt',
      'expiresAt',
      'decidedAt',
      'decidedBy',
      'arguments',
    ]);
    expect(json.arguments).toBe('not json');
  });

  it('prints a run with its steps and approvals after its own fields', () => {
    const json = runDetailJson({
      run: {
        id: 1,
        chatId: 101,
        inboxId: null,
        project: 'p',
        status: 'done',
        request: null,
        modelCalls: 1,
        toolCalls: 0,
        promptTokens: 0,
        completionTokens: 0,
        cachedTokens: 0,
        resumes: 0,
        answer: 'ok',
        error: null,
        startedAt: 1,
        finishedAt: 2,
      },
      steps: [stepOf(BLANK)],
      approvals: [],
    });
    expect(Object.keys(json).slice(-2)).toEqual(['steps', 'approvals']);
    expect(json.steps).toHaveLength(1);
  });
});
