import type {
  ApprovalJson,
  PendingApprovalView,
  RunDetailView,
  RunJson,
  ModelStepJson,
  StepView,
} from '../../queue/agent/run-detail';
import { escapeHidden } from '../../shared/escape-text';
import type { Paint } from './colour';
import { renderFields, renderTable } from './table';
import { cut } from './text';
import { formatAge, formatDuration, formatTime } from './time';

// `runs ls`, `runs show` and `approvals ls` as tables for people, from the typed read model
// (src/queue/agent/run-detail.ts, which is also their JSON for scripts). What the
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

/** `runs ls` as a table. */
export function renderRuns(runs: readonly RunJson[], now: number, paint: Paint): string {
  if (runs.length === 0) return 'No runs match.';
  return renderTable(
    ['ID', 'CHAT', 'STATUS', 'STEPS', 'TOOLS', 'TOKENS', 'RESUMES', 'STARTED', 'TOOK', 'REQUEST'],
    runs.map((run) => [
      run.id,
      run.chatId,
      paintRunStatus(run.status, paint),
      run.modelCalls,
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
export function renderRunDetail(detail: RunDetailView, now: number, paint: Paint): string {
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
    ['model calls', String(run.modelCalls)],
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

function renderSteps(steps: readonly StepView[], paint: Paint): string {
  if (steps.length === 0) return 'No steps yet.';
  return renderTable(
    ['SEQ', 'KIND', 'TOOL', 'ARGUMENTS / TEXT', 'STATUS', 'EXIT', 'TOOK', 'TOKENS', 'RESULT'],
    steps.map((s) =>
      s.kind === 'user'
        ? [s.seq, 'user', '-', cut(s.content ?? '', ARGS_CHARS) || '-', 'steered', '-', '-', '-', '-']
        : s.kind === 'model'
          ? [
              s.seq,
              'model',
              '-',
              cut(s.content ?? '', ARGS_CHARS) || '-',
              s.finishReason ?? '-',
              '-',
              '-',
              `${(s.promptTokens ?? 0) + (s.completionTokens ?? 0)}${reasoningNote(s)}`,
              '-',
            ]
          : [
              s.seq,
              'tool',
              s.tool === null ? null : cut(s.tool, ARGS_CHARS),
              cut(s.argumentsText, ARGS_CHARS),
              s.isError === true && s.status === 'done' ? paint.red('error') : (s.status ?? '-'),
              s.exitCode,
              s.durationMs === null ? '-' : formatDuration(s.durationMs),
              '-',
              cut(s.result, RESULT_CHARS) || '-',
            ],
    ),
    paint,
  );
}

function renderApprovalRows(approvals: readonly ApprovalJson[], now: number, paint: Paint): string {
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
  approvals: readonly PendingApprovalView[],
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
      cut(a.argumentsText, ARGS_CHARS),
      formatAge(a.askedAt, now),
      a.expiresAt <= now ? paint.red('expired') : formatAge(a.expiresAt, now),
    ]),
    paint,
  );
}

/** " (reasoning 812)" beside a response's tokens when the provider sent reasoning with it. */
function reasoningNote(step: ModelStepJson): string {
  if (!step.reasoning) return '';
  return step.reasoningTokens === null ? ' (reasoning)' : ` (reasoning ${step.reasoningTokens})`;
}
