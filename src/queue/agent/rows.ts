import type { ApprovalRecord, JournalStep, RunStatus, StepKind, ToolStepStatus } from '../../agent/journal';
import type { ImageRef, ProviderFields, ToolCall } from '../../agent/ports';
import { parseJsonOr } from '../../shared/parse-json';

// The agent tables' columns under their schema names, and their rows as the journal's types.

/** `agent_runs` columns. */
export const RUN_COLUMNS = `id, chat_id AS chatId, inbox_id AS inboxId, project, session_id AS sessionId,
  message, images, status, steps,
  prompt_tokens AS promptTokens, completion_tokens AS completionTokens, cached_tokens AS cachedTokens,
  resumes, stalled_resumes AS stalledResumes, progress_mark AS progressMark, suspended_at AS suspendedAt,
  parked_at AS parkedAt, parked_ms AS parkedMs, answer, error, status_message_id AS statusMessageId,
  started_at AS startedAt, finished_at AS finishedAt`;

/** A run row. */
export interface RunRow {
  readonly id: number;
  readonly chatId: number;
  readonly inboxId: number | null;
  readonly project: string;
  readonly sessionId: number | null;
  readonly message: string | null;
  /** `ImageRef[]` as JSON (see `imagesOf`). */
  readonly images: string | null;
  readonly status: RunStatus;
  readonly steps: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens: number;
  readonly resumes: number;
  readonly stalledResumes: number;
  readonly progressMark: number;
  readonly suspendedAt: number | null;
  readonly parkedAt: number | null;
  readonly parkedMs: number;
  readonly answer: string | null;
  readonly error: string | null;
  /** The run's status message, once sent (a run that calls no tool has none). */
  readonly statusMessageId: number | null;
  readonly startedAt: number;
  readonly finishedAt: number | null;
}

/** `agent_steps` columns. */
export const STEP_COLUMNS = `id, run_id AS runId, seq, kind, parent_id AS parentId, inbox_id AS inboxId, content,
  tool_calls AS toolCalls,
  model, finish_reason AS finishReason, provider_fields AS providerFields, reasoning_tokens AS reasoningTokens,
  prompt_tokens AS promptTokens, completion_tokens AS completionTokens,
  cached_tokens AS cachedTokens, tool_call_id AS toolCallId, tool, arguments, status, result,
  output_path AS outputPath, is_error AS isError, exit_code AS exitCode, started_at AS startedAt,
  finished_at AS finishedAt, duration_ms AS durationMs, created_at AS createdAt`;

/** A step row, as SQLite gives it (booleans as 0/1). */
export interface StepRow {
  readonly id: number;
  readonly runId: number;
  readonly seq: number;
  readonly kind: StepKind;
  readonly parentId: number | null;
  readonly inboxId: number | null;
  readonly content: string | null;
  readonly toolCalls: string | null;
  readonly model: string | null;
  readonly finishReason: string | null;
  readonly providerFields: string | null;
  readonly reasoningTokens: number | null;
  readonly promptTokens: number | null;
  readonly completionTokens: number | null;
  readonly cachedTokens: number | null;
  readonly toolCallId: string | null;
  readonly tool: string | null;
  readonly arguments: string | null;
  readonly status: ToolStepStatus | null;
  readonly result: string | null;
  readonly outputPath: string | null;
  readonly isError: number | null;
  readonly exitCode: number | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly durationMs: number | null;
  readonly createdAt: number;
}

/** A step row as the journal's step. */
export function toJournalStep(row: StepRow): JournalStep {
  if (row.kind === 'user') {
    return { kind: 'user', id: row.id, seq: row.seq, content: row.content ?? '', inboxId: row.inboxId };
  }
  if (row.kind === 'model') {
    return {
      kind: 'model',
      id: row.id,
      seq: row.seq,
      content: row.content,
      toolCalls: parseToolCalls(row.toolCalls),
      usage: {
        promptTokens: row.promptTokens ?? 0,
        completionTokens: row.completionTokens ?? 0,
        cachedTokens: row.cachedTokens ?? 0,
      },
      model: row.model ?? '',
      finishReason: row.finishReason ?? '',
      ...(row.providerFields !== null ? { providerFields: parseFields(row.providerFields) } : {}),
      ...(row.reasoningTokens !== null ? { reasoningTokens: row.reasoningTokens } : {}),
    };
  }
  const settled = row.status !== 'pending' && row.status !== 'running' && row.status !== null;
  return {
    kind: 'tool',
    id: row.id,
    seq: row.seq,
    parentId: row.parentId ?? 0,
    toolCallId: row.toolCallId ?? '',
    tool: row.tool ?? '',
    arguments: row.arguments ?? '',
    status: row.status ?? 'pending',
    ...(settled
      ? {
          result: {
            content: row.result ?? '',
            isError: row.isError === 1,
            ...(row.exitCode !== null ? { exitCode: row.exitCode } : {}),
            ...(row.outputPath !== null ? { outputPath: row.outputPath } : {}),
          },
        }
      : {}),
  };
}

function parseFields(text: string): ProviderFields {
  const fields = parseJsonOr<unknown>(text, {});
  return typeof fields === 'object' && fields !== null && !Array.isArray(fields)
    ? (fields as ProviderFields)
    : {};
}

function parseToolCalls(text: string | null): ToolCall[] {
  if (text === null) return [];
  return JSON.parse(text) as ToolCall[];
}

/** `agent_approvals` columns. */
export const APPROVAL_COLUMNS = `id, run_id AS runId, step_id AS stepId, tool_call_id AS toolCallId, tool,
  call_hash AS callHash, status, scope, chat_id AS chatId, card_message_id AS cardMessageId,
  asked_at AS askedAt, expires_at AS expiresAt, decided_at AS decidedAt, decided_by AS decidedBy`;

export type { ApprovalRecord };

/** A run's `images` column read back: the images sent with its message (none when null or unreadable). */
export function imagesOf(json: string | null): readonly ImageRef[] {
  const images = parseJsonOr<unknown>(json, []);
  if (!Array.isArray(images)) return [];
  return images.filter(
    (image): image is ImageRef =>
      typeof image === 'object' &&
      image !== null &&
      typeof (image as ImageRef).path === 'string' &&
      typeof (image as ImageRef).mimeType === 'string',
  );
}

/** The images of a request as the `images` column keeps them: paths and types, never bytes. */
export function imagesColumn(images: readonly ImageRef[] | undefined): string | null {
  if (images === undefined || images.length === 0) return null;
  return JSON.stringify(images.map(({ path, mimeType }) => ({ path, mimeType })));
}
