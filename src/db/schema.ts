import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

// All times are milliseconds since the epoch (UTC), as integers.

/** Cursors and settings (`telegram_offset`, ...). */
export const kv = sqliteTable('kv', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const INBOX_STATUSES = ['queued', 'processing', 'done', 'failed', 'dead', 'skipped'] as const;
export type InboxStatus = (typeof INBOX_STATUSES)[number];

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
    // order: crash-recovered last, then oldest first.
    index('inbox_ready_idx')
      .on(sql`(${t.errorClass} IS 'crash')`, t.availableAt, t.updateId)
      .where(sql`${t.status} IN ('queued', 'failed')`),
    // A chat's open items, for "nothing earlier still open"
    index('inbox_open_chat_idx')
      .on(t.chatId, t.updateId)
      .where(sql`${t.status} IN ('queued', 'failed', 'processing')`),
    // At most one row per loop, for "nothing in flight"
    index('inbox_processing_chat_idx')
      .on(t.chatId)
      .where(sql`${t.status} = 'processing'`),
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
});

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

export type InboxRow = typeof inbox.$inferSelect;
export type HistoryRow = typeof history.$inferSelect;
