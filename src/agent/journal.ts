// The agent's journal port: what the loop writes ahead and reads back on resume. The worker's
// implementation is SQLite (src/queue/agent/sqlite-journal.ts); tests may use an in-memory one.
// Every operation is synchronous and durable when it returns, so "stored before" is just "called
// before".

import type { ImageRef, ProviderFields, ToolCall, ToolResult, Usage } from './ports';

// The status lists are defined here, once: the database schema takes its column enums from them.

/** Every status a run can be in. */
export const RUN_STATUSES = ['running', 'done', 'cancelled', 'failed', 'limit', 'parked'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** The statuses a run ends in. */
export type FinishedRunStatus = Exclude<RunStatus, 'running' | 'parked'>;
/**
 * The kinds of a run's steps: a model response, one tool call of it, or a message of the person
 * steered into the run while it worked.
 */
export const STEP_KINDS = ['model', 'tool', 'user'] as const;
export type StepKind = (typeof STEP_KINDS)[number];
/** Every status a tool call can be in. */
export const TOOL_STEP_STATUSES = ['pending', 'running', 'done', 'interrupted', 'denied'] as const;
export type ToolStepStatus = (typeof TOOL_STEP_STATUSES)[number];
/** The statuses a tool call is settled in: its result is stored. */
export type SettledToolStatus = Exclude<ToolStepStatus, 'pending' | 'running'>;

/** A stored model response with its tool calls. */
export interface ModelStep {
  readonly kind: 'model';
  readonly id: number;
  readonly seq: number;
  readonly content: string | null;
  readonly toolCalls: readonly ToolCall[];
  readonly usage: Usage;
  readonly model: string;
  readonly finishReason: string;
  /** What the provider wants back with the turn (reasoning fields), as it sent them. */
  readonly providerFields?: ProviderFields;
  readonly reasoningTokens?: number;
}

/** A stored tool call: pending when its response is stored, running before it runs, then settled. */
export interface ToolStep {
  readonly kind: 'tool';
  readonly id: number;
  readonly seq: number;
  /** The id of the model step that asked for it. */
  readonly parentId: number;
  readonly toolCallId: string;
  readonly tool: string;
  /** The raw JSON text of the arguments. */
  readonly arguments: string;
  readonly status: ToolStepStatus;
  /** Present once settled. */
  readonly result?: ToolResult;
}

/** A message of the person given to a running run at a step boundary (`AGENT_BUSY=steer`). */
export interface UserStep {
  readonly kind: 'user';
  readonly id: number;
  readonly seq: number;
  readonly content: string;
  /** Its inbox item, which the run's answer answers too. */
  readonly inboxId: number | null;
}

export type JournalStep = ModelStep | ToolStep | UserStep;

/** How a compaction replaced the start of a session: by a summary, or (it failed) by nothing. */
export const COMPACTION_KINDS = ['summary', 'dropped'] as const;
export type CompactionKind = (typeof COMPACTION_KINDS)[number];

/** A place in a session's transcript: a run, and a step of it (0: the run's message). */
export interface TranscriptPosition {
  readonly runId: number;
  readonly seq: number;
}

/** The newest compaction of a session: the transcript through `through` is `summary` from then on. */
export interface CompactionRecord {
  readonly id: number;
  readonly kind: CompactionKind;
  readonly through: TranscriptPosition;
  /** The summary the model wrote, merged with the one before; null when nothing summarizes it. */
  readonly summary: string | null;
  readonly tokensBefore: number;
  readonly tokensAfter: number;
  readonly createdAt: number;
}

/** A compaction to store. */
export interface CompactionInput {
  readonly sessionId: number;
  /** The run it happens in; null for `/compact` between runs. */
  readonly runId: number | null;
  readonly kind: CompactionKind;
  readonly through: TranscriptPosition;
  readonly summary: string | null;
  readonly instructions?: string;
  readonly tokensBefore: number;
  readonly tokensAfter: number;
  /** The summary call's usage (none for `dropped`). */
  readonly model?: string;
  readonly usage?: Usage;
}

/** An earlier run of the session, as its transcript needs it. */
export interface SessionRun {
  readonly id: number;
  /** The person's message (null for a run from before sessions). */
  readonly message: string | null;
  /** The images sent with the message (paths in the project), as stored when the run began. */
  readonly images?: readonly ImageRef[];
  readonly status: RunStatus;
  readonly answer: string | null;
  readonly steps: readonly JournalStep[];
}

/** The session a run belongs to, as the journal holds it when the run starts. */
export interface JournalSession {
  readonly id: number;
  readonly compaction: CompactionRecord | null;
  /** The session's runs before this one, oldest first, past the compaction (whole runs). */
  readonly earlier: readonly SessionRun[];
}

/** How `begin` found the run. */
export type RunOpening =
  /** created now */
  | 'new'
  /** left on purpose (parked, an error, a stopping worker): continued, not a resume */
  | 'continued'
  /** found running: the worker died during it; counted in `resumes` */
  | 'resumed'
  /** already ended: the stored outcome stands */
  | 'finished';

/** A run as the journal holds it when the loop starts on it. */
export interface JournalRun {
  readonly id: number;
  readonly status: RunStatus;
  readonly opening: RunOpening;
  readonly startedAt: number;
  /** Time spent parked for approvals, which the run's time limit does not count. */
  readonly parkedMs: number;
  readonly resumes: number;
  /** Resumes in a row with nothing settled since the one before (this one included). */
  readonly stalledResumes: number;
  readonly answer: string | null;
  /** The person's message, as stored when the run began. */
  readonly message: string;
  /**
   * The images sent with it, as stored when the run began. Absent: the request's stand in (a
   * journal that stores none, or a run from before images).
   */
  readonly images?: readonly ImageRef[];
  readonly steps: readonly JournalStep[];
  /** What the run's compactions so far cost. */
  readonly compactionUsage: Usage;
  /** Its session with the runs before it; null for a run outside any (from before sessions). */
  readonly session: JournalSession | null;
}

/** What identifies a run: one per inbox item. */
export interface RunRequest {
  readonly inboxId: number;
  readonly chatId: number;
  readonly project: string;
  /** The person's message; stored with a new run (a resumed run keeps the one it began with). */
  readonly message: string;
  /**
   * The images sent with the message, saved in the project; stored with a new run like the
   * message. They go on the run's first message, which names their paths too.
   */
  readonly images?: readonly ImageRef[];
  /**
   * The session a new run joins: the one of its chat and project that starts after this inbox id
   * (the chat's `/new`; 0: none), made if new. A resumed run keeps its own; absent: no session.
   */
  readonly sessionFrom?: number;
  /**
   * Which of the chat's conversations the session is (a forum topic's id; 0 or absent: the chat's
   * own): each has its sessions.
   */
  readonly sessionThread?: number;
}

/** Every status an approval can be in. */
export const APPROVAL_STATUSES = ['pending', 'allowed', 'denied', 'expired'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
/** What an allowing decision covers: this call only, or every identical call of the run. */
export const APPROVAL_SCOPES = ['once', 'run'] as const;
export type ApprovalScope = (typeof APPROVAL_SCOPES)[number];

/** An approval asked for one tool call. */
export interface ApprovalRecord {
  readonly id: number;
  readonly runId: number;
  /** The tool step it was asked for (tool call ids are not unique across responses). */
  readonly stepId: number;
  readonly toolCallId: string;
  readonly tool: string;
  readonly callHash: string;
  readonly status: ApprovalStatus;
  readonly scope: ApprovalScope | null;
  readonly chatId: number;
  readonly cardMessageId: number | null;
  readonly askedAt: number;
  readonly expiresAt: number;
  readonly decidedAt: number | null;
  readonly decidedBy: number | null;
}

/** A new pending approval. */
export interface ApprovalAsk {
  readonly runId: number;
  readonly stepId: number;
  readonly toolCallId: string;
  readonly tool: string;
  readonly callHash: string;
  readonly chatId: number;
  readonly expiresAt: number;
}

/** How a run ended. */
export interface RunOutcome {
  readonly status: FinishedRunStatus;
  readonly answer?: string;
  readonly error?: string;
}

/** The journal the loop writes ahead to. */
export interface AgentJournal {
  /**
   * Opens the run of an inbox item: creates it, or reopens it with its steps. A run found
   * `running` that nobody suspended counts a resume, and a stalled one when a tool was running
   * and nothing was settled since the last resume.
   */
  begin(request: RunRequest, now: number): JournalRun;
  /** Stores a model response and its tool calls (pending), in one transaction. */
  recordModel(runId: number, response: ModelStepInput, now: number): { model: ModelStep; tools: ToolStep[] };
  /** Marks a tool call running: from here a kill leaves it to its tool's resume policy. */
  markRunning(stepId: number, now: number): void;
  /** Stores a tool call's result. */
  settleTool(stepId: number, status: SettledToolStatus, result: ToolResult, now: number): void;
  /** The run's approvals, oldest first. */
  approvals(runId: number): ApprovalRecord[];
  /** Records a pending approval. */
  askApproval(ask: ApprovalAsk, now: number): ApprovalRecord;
  /** Marks a pending approval expired (no decision in time). */
  expireApproval(id: number, now: number): void;
  /** Parks the run for an approval: it holds nothing until a decision arrives. */
  park(runId: number, now: number): void;
  /** Leaves the run unfinished on purpose (a thrown error, a stopping worker): not a crash. */
  suspend(runId: number, error: string | null, now: number): void;
  /** Ends the run. */
  finish(runId: number, outcome: RunOutcome, now: number): void;
  /** Stores a compaction of the run's session (its usage added to the run's); returns it. */
  recordCompaction(input: CompactionInput, now: number): CompactionRecord;
}

/** A model response as the loop stores it. */
export interface ModelStepInput {
  readonly content: string | null;
  readonly toolCalls: readonly ToolCall[];
  readonly usage: Usage;
  readonly model: string;
  readonly finishReason: string;
  readonly providerFields?: ProviderFields;
  readonly reasoningTokens?: number;
}
