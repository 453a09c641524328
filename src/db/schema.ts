import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import {
  APPROVAL_SCOPES,
  APPROVAL_STATUSES,
  COMPACTION_KINDS,
  RUN_STATUSES,
  STEP_KINDS,
  TOOL_STEP_STATUSES,
} from '../agent/journal';

// All times are milliseconds since the epoch (UTC), as integers.

/** Cursors and settings (`telegram_offset`, ...). */
export const kv = sqliteTable('kv', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const INBOX_STATUSES = [
  'queued',
  'processing',
  'done',
  'failed',
  'dead',
  'skipped',
  'parked',
] as const;
export type InboxStatus = (typeof INBOX_STATUSES)[number];

/**
 * Two lanes per chat, each in order, one item at a time: `answer` (messages, agent runs) and
 * `control` (commands, button presses), which never waits behind an answer of its chat.
 */
export const LANES = ['answer', 'control'] as const;
export type Lane = (typeof LANES)[number];

/** The task queue: one row per Telegram update. */
export const inbox = sqliteTable(
  'inbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    updateId: integer('update_id').notNull(),
    chatId: integer('chat_id'),
    messageId: integer('message_id'),
    /** What the update is: `text`, `photo`, `edited_message`, `channel_post`, ... */
    kind: text('kind').notNull(),
    /** The user's text; null when not kept (chat not allowed, no text). */
    text: text('text'),
    lane: text('lane', { enum: LANES }).notNull().default('answer'),
    /** Who sent it (Telegram user id): approvals are decided by approvers only. */
    fromId: integer('from_id'),
    /** The button press's callback query id, to answer it (`answerCallbackQuery`). */
    callbackId: text('callback_id'),
    /** The message's own time (Telegram `date`), ms. */
    sentAt: integer('sent_at'),
    status: text('status', { enum: INBOX_STATUSES }).notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    availableAt: integer('available_at').notNull(),
    /** The last error, or why the item was skipped: a sentence, never a secret. */
    error: text('error'),
    /** transient | permanent | fatal | crash | skipped. */
    errorClass: text('error_class'),
    /** The remote's code (HTTP status, Telegram error_code) or our own short code. */
    errorCode: text('error_code'),
    /**
     * The files of a message (a document, a photo's sizes, a voice note) as Telegram described
     * them (`MessageMedia` as JSON); null for a message without one, or a chat not allowed.
     */
    media: text('media'),
    /** An album's id (`media_group_id`): its parts are one message, answered by one run. */
    mediaGroupId: text('media_group_id'),
    /** The forum topic the message was sent in (`message_thread_id`); every message sent for it goes there. */
    threadId: integer('thread_id'),
    /** The model's answer, stored before it is sent (one model call per message). */
    reply: text('reply'),
    /** How many parts of the reply Telegram has accepted. */
    replyPartsSent: integer('reply_parts_sent').notNull().default(0),
    receivedAt: integer('received_at').notNull(),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at'),
  },
  (t) => [
    uniqueIndex('inbox_update_id_unique').on(t.updateId),
    index('inbox_status_available_idx').on(t.status, t.availableAt),
    index('inbox_chat_update_idx').on(t.chatId, t.updateId),
    // The claim's two indexes hold open items only, so its cost follows the backlog, not the
    // inbox's whole past (src/queue/claim.ts repeats these WHERE terms word for word, as SQLite
    // uses a partial index only for a query that states its condition). Ready items in claim
    // order per lane: crash-recovered last, then oldest first.
    index('inbox_ready_idx')
      .on(t.lane, sql`(${t.errorClass} IS 'crash')`, t.availableAt, t.updateId)
      .where(sql`${t.status} IN ('queued', 'failed')`),
    // A chat lane's open items, for "nothing earlier still open"
    index('inbox_open_chat_idx')
      .on(t.chatId, t.lane, t.updateId)
      .where(sql`${t.status} IN ('queued', 'failed', 'processing', 'parked')`),
    // At most one row per loop, for "nothing in flight"
    index('inbox_processing_chat_idx')
      .on(t.chatId, t.lane)
      .where(sql`${t.status} = 'processing'`),
  ],
);

/** Tokens of each model call of an answer (chat-completions `usage`), for `/usage` and `autonous usage`. */
export const usage = sqliteTable(
  'usage',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    chatId: integer('chat_id').notNull(),
    inboxId: integer('inbox_id').references(() => inbox.id, { onDelete: 'set null' }),
    /** The model that answered, as the API named it. */
    model: text('model').notNull(),
    promptTokens: integer('prompt_tokens').notNull(),
    completionTokens: integer('completion_tokens').notNull(),
    cachedTokens: integer('cached_tokens').notNull().default(0),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    index('usage_chat_created_idx').on(t.chatId, t.createdAt),
    index('usage_created_idx').on(t.createdAt),
    index('usage_inbox_idx').on(t.inboxId),
  ],
);

/** The conversation, each turn traceable to its inbox row. */
export const history = sqliteTable(
  'history',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    chatId: integer('chat_id').notNull(),
    role: text('role', { enum: ['user', 'assistant'] }).notNull(),
    text: text('text').notNull(),
    /** The text's estimated tokens (src/shared/tokens.ts), so the context is not re-counted. */
    tokens: integer('tokens'),
    inboxId: integer('inbox_id').references(() => inbox.id, { onDelete: 'set null' }),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    index('history_chat_idx').on(t.chatId, t.id),
    // the foreign key's ON DELETE SET NULL looks rows up by inbox_id when the inbox is purged
    index('history_inbox_idx').on(t.inboxId),
  ],
);

/**
 * Lifecycle of the supervised apps, one row per name. The worker writes only the
 * `heartbeatAt` of its own row (`worker-heartbeat`); everything else is the supervisor's.
 */
export const supervisorState = sqliteTable('supervisor_state', {
  name: text('name').primaryKey(),
  status: text('status'),
  reason: text('reason'),
  restartsInWindow: integer('restarts_in_window').notNull().default(0),
  lastExitCode: integer('last_exit_code'),
  revision: text('revision'),
  since: integer('since'),
  heartbeatAt: integer('heartbeat_at'),
  /**
   * The worker's own row only: when the running process became ready (its database migrated, a
   * poll of Telegram answered, a self-test item through its scheduler), ms; null until then.
   */
  readyAt: integer('ready_at'),
  /** The worker's own row only: the parts of readiness reached so far (`Readiness` as JSON). */
  readiness: text('readiness'),
  updatedAt: integer('updated_at')
    .notNull()
    .default(sql`(unixepoch() * 1000)`),
});

export const REVISION_STATUSES = ['candidate', 'good', 'bad'] as const;
export type RevisionStatus = (typeof REVISION_STATUSES)[number];

/** Immutable snapshots of the built worker. */
export const supervisorRevisions = sqliteTable('supervisor_revisions', {
  id: text('id').primaryKey(),
  path: text('path').notNull(),
  status: text('status', { enum: REVISION_STATUSES }).notNull(),
  reason: text('reason'),
  source: text('source'),
  createdAt: integer('created_at').notNull(),
  promotedAt: integer('promoted_at'),
  badAt: integer('bad_at'),
  /** Who made it: `cli`, `first-start`, or `self-release` (a chat's `/release`). */
  origin: text('origin'),
  /** The git commit it was built from, when known. */
  commit: text('commit'),
  /** What its checks said before it was released (`CheckSummary` as JSON), for a self-release. */
  checks: text('checks'),
});

export const SELF_RELEASE_STATUSES = [
  /** Building and checking in the sandbox. */
  'checking',
  /** Checks passed; the card with Release / Cancel waits for an approver. */
  'ready',
  /** Refused before anything ran, or the checks failed: `reason` says why. */
  'refused',
  'failed',
  'cancelled',
  /** An approver pressed Release: the supervisor makes the candidate. */
  'requested',
  /** The supervisor made it revision `revision` and restarted the worker on it. */
  'released',
  'promoted',
  'rolled_back',
] as const;
export type SelfReleaseStatus = (typeof SELF_RELEASE_STATUSES)[number];

/**
 * A chat's release of project `self`: the worker builds, checks and asks; an approver's press makes
 * it a request; the supervisor (the judge) releases it and records the outcome here. The
 * supervisor reads only the build folder, the commit and the checks, never the chat.
 */
export const selfReleases = sqliteTable(
  'self_releases',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    chatId: integer('chat_id').notNull(),
    threadId: integer('thread_id'),
    /** Who asked (the approver's user id). */
    fromId: integer('from_id'),
    /** The `/release` message (or the run's message, for the tool) it answers: one release per message. */
    inboxId: integer('inbox_id'),
    status: text('status', { enum: SELF_RELEASE_STATUSES }).notNull(),
    /** The commit of project self that was built. */
    commit: text('commit'),
    /** The running revision when it was asked for, and its commit (the diff's base). */
    baseRevision: text('base_revision'),
    baseCommit: text('base_commit'),
    /** The built worker (`dist/`, `drizzle/`), copied out of the project where no command reaches. */
    buildDir: text('build_dir'),
    /** `CheckSummary` as JSON. */
    checks: text('checks'),
    /** What the card showed: commits and diff stat. */
    summary: text('summary'),
    /** The card's message id, to edit it when decided. */
    cardMessageId: integer('card_message_id'),
    revision: text('revision'),
    /** Why it was refused, failed or rolled back: a sentence. */
    reason: text('reason'),
    /** The revision running again after a rollback. */
    rolledBackTo: text('rolled_back_to'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    /** When the chat was told it was released, and its outcome (each once, across restarts). */
    releasedToldAt: integer('released_told_at'),
    outcomeToldAt: integer('outcome_told_at'),
  },
  (t) => [
    index('self_releases_status_idx').on(t.status),
    uniqueIndex('self_releases_inbox_unique').on(t.inboxId),
  ],
);

/** Audit log of the supervisor: lifecycle events, decisions, rollbacks. */
export const supervisorEvents = sqliteTable(
  'supervisor_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    app: text('app').notNull(),
    event: text('event').notNull(),
    exitCode: integer('exit_code'),
    uptimeMs: integer('uptime_ms'),
    manual: integer('manual', { mode: 'boolean' }),
    revision: text('revision'),
    detail: text('detail'),
  },
  (t) => [index('supervisor_events_at_idx').on(t.at)],
);

/**
 * What became of each file of a message, so a kill repeats no download and no transcription: where
 * it was saved in the project (and its hash, so a write cut short is known as ours), or what a
 * voice note said. The bytes live in the project only.
 */
export const inboxFiles = sqliteTable(
  'inbox_files',
  {
    inboxId: integer('inbox_id')
      .notNull()
      .references(() => inbox.id, { onDelete: 'cascade' }),
    /** The file's place in the message: 0 for the item's own, then an album's other parts in order. */
    seq: integer('seq').notNull(),
    /** The item that carried the file (an album's part, closed into the first one's run). */
    fromInboxId: integer('from_inbox_id').notNull(),
    /** The file as Telegram described it (`MessageMedia` as JSON). */
    media: text('media').notNull(),
    /** The caption of the message that carried it. */
    caption: text('caption'),
    /** The project it was saved in, and its path there (`uploads/...`). */
    project: text('project'),
    path: text('path'),
    bytes: integer('bytes'),
    sha256: text('sha256'),
    /** Whether the bytes are written (the path is reserved before). */
    saved: integer('saved', { mode: 'boolean' }).notNull().default(false),
    /** A voice or video note's words, stored before the run uses them. */
    transcript: text('transcript'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('inbox_files_item_seq_unique').on(t.inboxId, t.seq)],
);

export type InboxRow = typeof inbox.$inferSelect;
export type HistoryRow = typeof history.$inferSelect;
export type UsageRow = typeof usage.$inferSelect;

// The agent's journal, written ahead so a run resumes after a kill at any instant. Its status
// lists belong to the agent (src/agent/journal.ts), which may import nothing from here.

/** One agent run per inbox item: what it is doing, how far it got, what it cost. */
/**
 * A conversation of a chat in a project, from a `/new` (or the first message) on. Its transcript
 * is not stored here: it is the journal of its runs (their messages and steps), read in order.
 */
export const sessions = sqliteTable(
  'sessions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    chatId: integer('chat_id').notNull(),
    project: text('project').notNull(),
    /** The forum topic it is the conversation of (0: the chat's own, outside any topic). */
    threadId: integer('thread_id').notNull().default(0),
    /** The inbox id of the `/new` it starts after (0: from the chat's first message). */
    fromInboxId: integer('from_inbox_id').notNull().default(0),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('sessions_chat_thread_project_from_unique').on(
      t.chatId,
      t.threadId,
      t.project,
      t.fromInboxId,
    ),
  ],
);

export const agentRuns = sqliteTable(
  'agent_runs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    chatId: integer('chat_id').notNull(),
    inboxId: integer('inbox_id').references(() => inbox.id, { onDelete: 'set null' }),
    /** The project folder's name the run works in. */
    project: text('project').notNull(),
    /** The session it belongs to (null for runs from before sessions). */
    sessionId: integer('session_id').references(() => sessions.id, { onDelete: 'set null' }),
    /** The person's message the run answers, as the model got it. */
    message: text('message'),
    /** The images sent with the message (`ImageRef[]` as JSON: project paths), given to a model that sees. */
    images: text('images'),
    status: text('status', { enum: RUN_STATUSES }).notNull().default('running'),
    /** Model calls so far. */
    steps: integer('steps').notNull().default(0),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    cachedTokens: integer('cached_tokens').notNull().default(0),
    /** Starts after a kill (a run found `running` that nobody left on purpose). */
    resumes: integer('resumes').notNull().default(0),
    /** Resumes in a row that found no step journalled since the one before. */
    stalledResumes: integer('stalled_resumes').notNull().default(0),
    /** How many steps were settled at the last resume: the mark that tells progress. */
    progressMark: integer('progress_mark').notNull().default(0),
    /** Set when the loop left the run unfinished on purpose (an error, a stopping worker). */
    suspendedAt: integer('suspended_at'),
    /** When the run parked for an approval, and how long it has waited parked in all. */
    parkedAt: integer('parked_at'),
    parkedMs: integer('parked_ms').notNull().default(0),
    /** The answer the person gets (also when the run ended at a limit). */
    answer: text('answer'),
    /** Why the run failed or was left unfinished: a sentence, never a secret. */
    error: text('error'),
    /** The Telegram message id of the run's status message, once sent: a resumed run edits it. */
    statusMessageId: integer('status_message_id'),
    /**
     * The git checkpoint (`Checkpoint` as JSON) taken before the run's first change, kept until its
     * commit, so a resumed run commits against the state before it began.
     */
    checkpoint: text('checkpoint'),
    startedAt: integer('started_at').notNull(),
    finishedAt: integer('finished_at'),
  },
  (t) => [
    uniqueIndex('agent_runs_inbox_unique').on(t.inboxId),
    index('agent_runs_chat_idx').on(t.chatId, t.id),
    index('agent_runs_status_idx').on(t.status),
    index('agent_runs_session_idx').on(t.sessionId, t.id),
  ],
);

/**
 * The run's steps in order (`seq`): a model response with its tool calls, then one row per tool
 * call (pending when the response is stored, running before it runs, settled with its result).
 */
export const agentSteps = sqliteTable(
  'agent_steps',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: integer('run_id')
      .notNull()
      .references(() => agentRuns.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    kind: text('kind', { enum: STEP_KINDS }).notNull(),
    /** A tool step's model step. */
    parentId: integer('parent_id'),
    /** A user step (a message steered into the run): its inbox item. */
    inboxId: integer('inbox_id'),
    // model steps
    content: text('content'),
    /** JSON array of `{id, name, arguments}` as the model sent them. */
    toolCalls: text('tool_calls'),
    model: text('model'),
    finishReason: text('finish_reason'),
    /** JSON of what the provider wants back with the turn (reasoning fields), when it sent any. */
    providerFields: text('provider_fields'),
    reasoningTokens: integer('reasoning_tokens'),
    promptTokens: integer('prompt_tokens'),
    completionTokens: integer('completion_tokens'),
    cachedTokens: integer('cached_tokens'),
    // tool steps
    toolCallId: text('tool_call_id'),
    tool: text('tool'),
    /** The raw JSON text of the arguments, as the model sent it. */
    arguments: text('arguments'),
    status: text('status', { enum: TOOL_STEP_STATUSES }),
    /** What the model was given as the result. */
    result: text('result'),
    /** Where the whole output is kept, when `result` holds its tail. */
    outputPath: text('output_path'),
    isError: integer('is_error', { mode: 'boolean' }),
    exitCode: integer('exit_code'),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at'),
    durationMs: integer('duration_ms'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('agent_steps_run_seq_unique').on(t.runId, t.seq)],
);

/** Each approval asked, bound to one tool step and the hash of its call, and how it was decided. */
export const agentApprovals = sqliteTable(
  'agent_approvals',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: integer('run_id')
      .notNull()
      .references(() => agentRuns.id, { onDelete: 'cascade' }),
    stepId: integer('step_id')
      .notNull()
      .references(() => agentSteps.id, { onDelete: 'cascade' }),
    toolCallId: text('tool_call_id').notNull(),
    tool: text('tool').notNull(),
    /** `callHash(tool, arguments)`: a different call needs its own decision. */
    callHash: text('call_hash').notNull(),
    status: text('status', { enum: APPROVAL_STATUSES }).notNull().default('pending'),
    /** Set by an allowing decision: this call only, or every identical call of the run. */
    scope: text('scope', { enum: APPROVAL_SCOPES }),
    chatId: integer('chat_id').notNull(),
    /** The card's Telegram message id, once sent. */
    cardMessageId: integer('card_message_id'),
    askedAt: integer('asked_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    decidedAt: integer('decided_at'),
    /** The Telegram user id of the approver who decided. */
    decidedBy: integer('decided_by'),
  },
  (t) => [
    index('agent_approvals_run_idx').on(t.runId),
    index('agent_approvals_step_idx').on(t.stepId),
    index('agent_approvals_status_expiry_idx').on(t.status, t.expiresAt),
  ],
);

export type AgentRunRow = typeof agentRuns.$inferSelect;
export type AgentStepRow = typeof agentSteps.$inferSelect;
export type AgentApprovalRow = typeof agentApprovals.$inferSelect;

/**
 * A session's compactions, newest last: the transcript up to (`throughRunId`, `throughSeq`) is
 * replaced by `summary` from then on. Journalled like a model call: stored before it is used, and
 * never asked again once stored. `kind` is `summary`, or `dropped` when the summary failed and the
 * oldest part was left out (the previous summary is kept).
 */
export const compactions = sqliteTable(
  'compactions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    sessionId: integer('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    /** The run it happened in (null: `/compact` between runs). */
    runId: integer('run_id').references(() => agentRuns.id, { onDelete: 'set null' }),
    kind: text('kind', { enum: COMPACTION_KINDS }).notNull(),
    /** The last transcript position it covers: a run, and a step of it (0: its message). */
    throughRunId: integer('through_run_id').notNull(),
    throughSeq: integer('through_seq').notNull(),
    summary: text('summary'),
    /** `/compact`'s "what to keep". */
    instructions: text('instructions'),
    /** The request's estimated tokens before and after. */
    tokensBefore: integer('tokens_before').notNull(),
    tokensAfter: integer('tokens_after').notNull(),
    model: text('model'),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    cachedTokens: integer('cached_tokens').notNull().default(0),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('compactions_session_idx').on(t.sessionId, t.id)],
);
