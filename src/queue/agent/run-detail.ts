import type { RunStatus, ToolStepStatus } from '../../agent/journal';
import { parseJsonOr } from '../../shared/parse-json';
import type { RunSummary } from './list-runs';
import type { PendingApproval } from './pending-approvals';
import type { ApprovalRecord, StepRow } from './rows';
import type { RunDetail } from './show-run';

// The read model of `runs ls`, `runs show` and `approvals ls`: each row becomes a typed object
// once, with the JSON a model wrote parsed where it is read (text that does not parse stays
// text), so the renderers neither parse nor guess. The `*Json` types are the commands' `--json`
// output, field for field (docs/cli.md); the views add only the raw text a table cuts. Pure.

/** A run as `runs ls --json` prints it. */
export interface RunJson {
  readonly id: number;
  readonly chatId: number;
  readonly inboxId: number | null;
  readonly project: string;
  readonly status: RunStatus;
  readonly request: string | null;
  readonly modelCalls: number;
  readonly toolCalls: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens: number;
  readonly resumes: number;
  readonly answer: string | null;
  readonly error: string | null;
  readonly startedAt: number;
  readonly finishedAt: number | null;
}

/** A model response as `runs show --json` prints it. */
export interface ModelStepJson {
  readonly seq: number;
  readonly kind: 'model';
  readonly content: string | null;
  readonly model: string | null;
  readonly finishReason: string | null;
  /** How many tool calls the response asked for. */
  readonly toolCalls: number;
  readonly promptTokens: number | null;
  readonly completionTokens: number | null;
  readonly cachedTokens: number | null;
  /** Whether the provider sent reasoning with the response (kept, sent back, never shown). */
  readonly reasoning: boolean;
  /** `completion_tokens_details.reasoning_tokens`, when the provider said. */
  readonly reasoningTokens: number | null;
  readonly at: number;
}

/** A tool call as `runs show --json` prints it. */
export interface ToolStepJson {
  readonly seq: number;
  readonly kind: 'tool';
  readonly toolCallId: string | null;
  readonly tool: string | null;
  /** The arguments parsed when they are JSON, else their text. */
  readonly arguments: unknown;
  readonly status: ToolStepStatus | null;
  readonly isError: boolean | null;
  readonly exitCode: number | null;
  readonly result: string | null;
  readonly outputPath: string | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly durationMs: number | null;
}

/** A message of the person steered into the run while it worked, as `runs show --json` prints it. */
export interface UserStepJson {
  readonly seq: number;
  readonly kind: 'user';
  /** Its inbox item. */
  readonly inboxId: number | null;
  readonly content: string | null;
  readonly at: number;
}

/** A step as `runs show --json` prints it. */
export type StepJson = ModelStepJson | ToolStepJson | UserStepJson;

/** An approval as `runs show --json` and `approvals ls --json` print it. */
export interface ApprovalJson extends Omit<ApprovalRecord, 'stepId'> {
  /** `approvals ls` only: the call's arguments, parsed when they are JSON, else their text. */
  readonly arguments?: unknown;
}

/** `runs show --json`: the run with its steps and approvals. */
export interface RunDetailJson extends RunJson {
  readonly steps: StepJson[];
  readonly approvals: ApprovalJson[];
}

/** A tool call with the raw text of its arguments, which a table shows cut. */
export interface ToolStepView extends ToolStepJson {
  readonly argumentsText: string | null;
}

/** A step as `runs show` reads it. */
export type StepView = ModelStepJson | ToolStepView | UserStepJson;

/** A run with its steps and approvals, read once. */
export interface RunDetailView {
  readonly run: RunJson;
  readonly steps: readonly StepView[];
  readonly approvals: readonly ApprovalJson[];
}

/** A pending approval with its call's arguments (parsed and as text) and its inbox item. */
export interface PendingApprovalView extends ApprovalJson {
  readonly arguments: unknown;
  readonly argumentsText: string | null;
  readonly inboxId: number | null;
}

/** A run summary as the read model holds it. */
export function runOf(run: RunSummary): RunJson {
  return {
    id: run.id,
    chatId: run.chatId,
    inboxId: run.inboxId,
    project: run.project,
    status: run.status,
    request: run.request,
    modelCalls: run.steps,
    toolCalls: run.toolCalls,
    promptTokens: run.promptTokens,
    completionTokens: run.completionTokens,
    cachedTokens: run.cachedTokens,
    resumes: run.resumes,
    answer: run.answer,
    error: run.error,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
  };
}

/** A step row as the read model holds it; stored JSON that does not parse counts no tool calls. */
export function stepOf(step: StepRow): StepView {
  if (step.kind === 'user') {
    return { seq: step.seq, kind: 'user', inboxId: step.inboxId, content: step.content, at: step.createdAt };
  }
  if (step.kind === 'model') {
    const calls = parseJsonOr(step.toolCalls, []);
    return {
      seq: step.seq,
      kind: 'model',
      content: step.content,
      model: step.model,
      finishReason: step.finishReason,
      toolCalls: Array.isArray(calls) ? calls.length : 0,
      promptTokens: step.promptTokens,
      completionTokens: step.completionTokens,
      cachedTokens: step.cachedTokens,
      reasoning: step.providerFields !== null,
      reasoningTokens: step.reasoningTokens,
      at: step.createdAt,
    };
  }
  return {
    seq: step.seq,
    kind: 'tool',
    toolCallId: step.toolCallId,
    tool: step.tool,
    arguments: parseJsonOr(step.arguments, step.arguments),
    argumentsText: step.arguments,
    status: step.status,
    isError: step.isError === null ? null : step.isError === 1,
    exitCode: step.exitCode,
    result: step.result,
    outputPath: step.outputPath,
    startedAt: step.startedAt,
    finishedAt: step.finishedAt,
    durationMs: step.durationMs,
  };
}

/** An approval row as the read model holds it (without the step id, which the output omits). */
export function approvalOf(approval: ApprovalRecord): ApprovalJson {
  return {
    id: approval.id,
    runId: approval.runId,
    toolCallId: approval.toolCallId,
    tool: approval.tool,
    callHash: approval.callHash,
    status: approval.status,
    scope: approval.scope,
    chatId: approval.chatId,
    cardMessageId: approval.cardMessageId,
    askedAt: approval.askedAt,
    expiresAt: approval.expiresAt,
    decidedAt: approval.decidedAt,
    decidedBy: approval.decidedBy,
  };
}

/** A pending approval row as the read model holds it. */
export function pendingApprovalOf(approval: PendingApproval): PendingApprovalView {
  return {
    ...approvalOf(approval),
    arguments: parseJsonOr(approval.arguments, approval.arguments),
    argumentsText: approval.arguments,
    inboxId: approval.inboxId,
  };
}

/** A run's rows as the read model holds them. */
export function runDetailOf(detail: RunDetail): RunDetailView {
  return {
    run: runOf(detail.run),
    steps: detail.steps.map(stepOf),
    approvals: detail.approvals.map(approvalOf),
  };
}

/** A step as `--json` prints it: the view without the raw argument text. */
export function stepJson(step: StepView): StepJson {
  if (step.kind !== 'tool') return step;
  const { argumentsText: _text, ...json } = step;
  return json;
}

/** A pending approval as `approvals ls --json` prints it: without the raw text and inbox id. */
export function pendingApprovalJson(approval: PendingApprovalView): ApprovalJson {
  const { argumentsText: _text, inboxId: _inbox, ...json } = approval;
  return json;
}

/** `runs show --json`. */
export function runDetailJson(detail: RunDetailView): RunDetailJson {
  return { ...detail.run, steps: detail.steps.map(stepJson), approvals: [...detail.approvals] };
}
