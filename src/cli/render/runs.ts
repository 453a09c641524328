import type { RunSummary } from '../../queue/agent/list-runs';
import type { PendingApproval } from '../../queue/agent/pending-approvals';
import type { ApprovalRecord, StepRow } from '../../queue/agent/rows';
import type { RunDetail } from '../../queue/agent/show-run';
import { escapeHidden } from '../../shared/escape-text';
import { parseJsonOr } from '../../shared/parse-json';
import type { Paint } from './colour';
import { renderFields, renderTable } from './table';
import { cut } from './text';
import { formatAge, formatDuration, formatTime } from './time';

// `runs ls`, `runs show` and `approvals ls`: tables for people, stable JSON for scripts. What the
// model or a command wrote is shown with its control and format characters escaped (`cut` does
// it for cells), so a tool's output can neither drive the terminal nor read as something else.

const REQUEST_CHARS = 50;
const ARGS_CHARS = 60;
const RESULT_CHARS = 48;

/** A run status, coloured by what it asks of the operator. */
export function paintRunStatus(status: string, paint: Paint): string {
  switch (status) {
    case 'failed':
      return paint.red(status);
    case 'limit':
    case 'parked':
      return paint.yellow(status);
    case 'done':
      return paint.green(status);
    case 'cancelled':
      return paint.dim(status);
    default:
      return status;
  }
}

/** A run as `runs ls --json` prints it (see docs/cli.md, section runs ls). */
export interface RunJson {
  readonly id: number;
  readonly chatId: number;
  readonly inboxId: number | null;
  readonly project: string;
  readonly status: string;
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

/** The JSON form of a run. */
export function runJson(run: RunSummary): RunJson {
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

/** A step as `runs show --json` prints it. */
export type StepJson =
  | {
      readonly seq: number;
      readonly kind: 'model';
      readonly content: string | null;
      readonly model: string | null;
      readonly finishReason: string | null;
      readonly toolCalls: number;
      readonly promptTokens: number | null;
      readonly completionTokens: number | null;
      readonly cachedTokens: number | null;
      readonly at: number;
    }
  | {
      readonly seq: number;
      readonly kind: 'tool';
      readonly toolCallId: string | null;
      readonly tool: string | null;
      readonly arguments: unknown;
      readonly status: string | null;
      readonly isError: boolean | null;
      readonly exitCode: number | null;
      readonly result: string | null;
      readonly outputPath: string | null;
      readonly startedAt: number | null;
      readonly finishedAt: number | null;
      readonly durationMs: number | null;
    };

/** The JSON form of a step; tool arguments parsed when they are JSON, else kept as text. */
export function stepJson(step: StepRow): StepJson {
  if (step.kind === 'model') {
    return {
      seq: step.seq,
      kind: 'model',
      content: step.content,
      model: step.model,
      finishReason: step.finishReason,
      toolCalls: step.toolCalls === null ? 0 : (JSON.parse(step.toolCalls) as unknown[]).length,
      promptTokens: step.promptTokens,
      completionTokens: step.completionTokens,
      cachedTokens: step.cachedTokens,
      at: step.createdAt,
    };
  }
  return {
    seq: step.seq,
    kind: 'tool',
    toolCallId: step.toolCallId,
    tool: step.tool,
    arguments: parseJsonOr(step.arguments, step.arguments),
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

/** An approval as the JSON output prints it. */
export function approvalJson(approval: ApprovalRecord | PendingApproval): Record<string, unknown> {
  const base: Record<string, unknown> = {
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
  if ('arguments' in approval) base.arguments = parseJsonOr(approval.arguments, approval.arguments);
  return base;
}

/** `runs show --json`. */
export function runDetailJson(detail: RunDetail): Record<string, unknown> {
  return {
    ...runJson(detail.run),
    steps: detail.steps.map(stepJson),
    approvals: detail.approvals.map(approvalJson),
  };
}

/** `runs ls` as a table. */
export function renderRuns(runs: readonly RunSummary[], now: number, paint: Paint): string {
  if (runs.length === 0) return 'No runs match.';
  return renderTable(
    ['ID', 'CHAT', 'STATUS', 'STEPS', 'TOOLS', 'TOKENS', 'RESUMES', 'STARTED', 'TOOK', 'REQUEST'],
    runs.map((run) => [
      run.id,
      run.chatId,
      paintRunStatus(run.status, paint),
      run.steps,
      run.toolCalls,
      run.promptTokens + run.completionTokens,
      run.resumes,
      formatAge(run.startedAt, now),
      run.finishedAt === null ? '-' : formatDuration(run.finishedAt - run.startedAt),
      run.request === null ? '-' : cut(run.request, REQUEST_CHARS),
    ]),
    paint,
  );
}

/** `runs show` as fields, a table of steps and one of approvals. */
export function renderRunDetail(detail: RunDetail, now: number, paint: Paint): string {
  const { run } = detail;
  const fields: [string, string][] = [
    ['run', String(run.id)],
    ['status', paintRunStatus(run.status, paint)],
    ['chat', String(run.chatId)],
    ['inbox item', run.inboxId === null ? '- (purged)' : String(run.inboxId)],
    ['project', escapeHidden(run.project)],
    ['request', escapeHidden(run.request ?? '-')],
    ['started', `${formatTime(run.startedAt)} (${formatAge(run.startedAt, now)})`],
    [
      'finished',
      run.finishedAt === null
        ? '-'
        : `${formatTime(run.finishedAt)} (took ${formatDuration(run.finishedAt - run.startedAt)})`,
    ],
    ['model calls', String(run.steps)],
    [
      'tokens',
      `${run.promptTokens} prompt (${run.cachedTokens} cached) + ${run.completionTokens} completion`,
    ],
    ['resumes', String(run.resumes)],
  ];
  if (run.error !== null) fields.push(['error', escapeHidden(run.error)]);
  const parts = [renderFields(fields, paint)];
  parts.push('', paint.bold('Steps'), renderSteps(detail.steps, paint));
  if (detail.approvals.length > 0)
    parts.push('', paint.bold('Approvals'), renderApprovalRows(detail.approvals, now, paint));
  if (run.answer !== null) parts.push('', paint.bold('Answer'), escapeHidden(run.answer));
  return parts.join('\n');
}

function renderSteps(steps: readonly StepRow[], paint: Paint): string {
  if (steps.length === 0) return 'No steps yet.';
  return renderTable(
    ['SEQ', 'KIND', 'TOOL', 'ARGUMENTS / TEXT', 'STATUS', 'EXIT', 'TOOK', 'TOKENS', 'RESULT'],
    steps.map((s) =>
      s.kind === 'model'
        ? [
            s.seq,
            'model',
            '-',
            cut(s.content ?? '', ARGS_CHARS) || '-',
            s.finishReason ?? '-',
            '-',
            '-',
            (s.promptTokens ?? 0) + (s.completionTokens ?? 0),
            '-',
          ]
        : [
            s.seq,
            'tool',
            s.tool === null ? null : cut(s.tool, ARGS_CHARS),
            cut(s.arguments, ARGS_CHARS),
            s.isError === 1 && s.status === 'done' ? paint.red('error') : (s.status ?? '-'),
            s.exitCode,
            s.durationMs === null ? '-' : formatDuration(s.durationMs),
            '-',
            cut(s.result, RESULT_CHARS) || '-',
          ],
    ),
    paint,
  );
}

function renderApprovalRows(approvals: readonly ApprovalRecord[], now: number, paint: Paint): string {
  return renderTable(
    ['ID', 'TOOL', 'STATUS', 'SCOPE', 'ASKED', 'DECIDED', 'BY'],
    approvals.map((a) => [
      a.id,
      a.tool,
      a.status === 'pending' ? paint.yellow(a.status) : a.status,
      a.scope,
      formatAge(a.askedAt, now),
      a.decidedAt === null ? '-' : formatTime(a.decidedAt),
      a.decidedBy,
    ]),
    paint,
  );
}

/** `approvals ls` as a table. */
export function renderPendingApprovals(
  approvals: readonly PendingApproval[],
  now: number,
  paint: Paint,
): string {
  if (approvals.length === 0) return 'No approval is waiting.';
  return renderTable(
    ['ID', 'RUN', 'CHAT', 'TOOL', 'ARGUMENTS', 'ASKED', 'EXPIRES'],
    approvals.map((a) => [
      a.id,
      a.runId,
      a.chatId,
      a.tool,
      cut(a.arguments, ARGS_CHARS),
      formatAge(a.askedAt, now),
      a.expiresAt <= now ? paint.red('expired') : formatAge(a.expiresAt, now),
    ]),
    paint,
  );
}
