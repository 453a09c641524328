// The facts two processes share (the worker, the supervisor, the CLI, the ecosystem file): each is
// defined here once, and everyone imports it. This file imports nothing, so any process may use it
// without pulling in another's code (the supervisor's import boundary holds by construction).

/** The PM2 app of the worker; also its row in `supervisor_state` and the default `app` of events. */
export const WORKER_APP = 'autonous-worker';
/** The supervisor's own PM2 app. */
export const SUPERVISOR_APP = 'autonous-supervisor';
/** Every PM2 app of autonous, as `ecosystem.config.cjs` declares them. */
export const APPS: readonly string[] = Object.freeze([WORKER_APP, SUPERVISOR_APP]);

/**
 * The `supervisor_state` row the worker's heartbeat goes to: the only supervisor row the worker
 * writes (its `heartbeat_at`); the supervisor's watchdog and `autonous status` read it.
 */
export const HEARTBEAT_ROW = 'worker-heartbeat';

/** The `supervisor_events.event` of a rollback, which the worker announces to the admin chats. */
export const ROLLBACK_EVENT = 'rollback';

/** The `detail` (JSON) of a `rollback` event: written by the supervisor, read by the worker. */
export interface RollbackDetail {
  /** The revision that failed; null when it was not known. */
  readonly from: string | null;
  /** The revision now running. */
  readonly to: string;
  /** Why, a sentence without its full stop. */
  readonly reason: string;
}

/** What a `rollback` event's stored detail says, field by field; an unreadable detail says nothing. */
export function parseRollbackDetail(json: string | null): Partial<RollbackDetail> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json ?? '{}');
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const field = (name: keyof RollbackDetail): string | undefined => {
    const value = (parsed as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : undefined;
  };
  const detail: { from?: string; to?: string; reason?: string } = {};
  const from = field('from');
  const to = field('to');
  const reason = field('reason');
  if (from !== undefined) detail.from = from;
  if (to !== undefined) detail.to = to;
  if (reason !== undefined) detail.reason = reason;
  return detail;
}

/**
 * What the worker reports of its readiness in its own `supervisor_state` row (`readiness`, JSON):
 * when the running process (started at `startedAt`, ms) reached each part, ms. The supervisor
 * promotes a candidate only once all three hold for the run it watches; it reads nothing else.
 */
export interface Readiness {
  readonly pid: number;
  readonly startedAt: number;
  /** The database opened and migrated. */
  readonly database: number | null;
  /** A poll of Telegram answered. */
  readonly poll: number | null;
  /** A self-test item went through the worker's own scheduler (no Telegram, no model). */
  readonly selftest: number | null;
}

/** The parts of readiness, in the order a start reaches them, with how a sentence names each. */
export const READINESS_PARTS = {
  database: 'open and migrate its database',
  poll: 'answer a poll of Telegram',
  selftest: 'take a self-test item through its scheduler',
} as const;

/** Reads a stored `Readiness`; anything unreadable is null. */
export function parseReadiness(json: string | null | undefined): Readiness | null {
  if (json === null || json === undefined) return null;
  try {
    const value = JSON.parse(json) as Record<string, unknown>;
    const num = (k: string): number | null => (typeof value[k] === 'number' ? value[k] : null);
    const pid = num('pid');
    const startedAt = num('startedAt');
    if (pid === null || startedAt === null) return null;
    return { pid, startedAt, database: num('database'), poll: num('poll'), selftest: num('selftest') };
  } catch {
    return null;
  }
}

/** A revision id: `r<sequence>-<7 hex of the content hash>`, also its folder's name under `releases/`. */
export const REVISION_ID = /^r(\d+)-[0-9a-f]{7}$/;

/** The inbox `kind` of the worker's self-test item: no update from Telegram, no chat, no text. */
export const SELFTEST_KIND = 'selftest';

/** `supervisor_revisions.origin` of a revision a chat's `/release` made. */
export const SELF_RELEASE_ORIGIN = 'self-release';

/** What a self-release's checks said (`self_releases.checks`, `supervisor_revisions.checks`). */
export interface CheckSummary {
  readonly passed: boolean;
  /** The command that ran (SELF_RELEASE_CHECK after the build). */
  readonly command: string;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly seconds: number;
  /** Test counts when the output named them (jest's `Tests:` line). */
  readonly tests: { readonly passed: number; readonly failed: number; readonly total: number } | null;
}

/** Every `kv` key: a name for each fixed one, a builder for each family. */
export const KV = {
  /** The next Telegram update id to ask for; advances only with the updates it covers. */
  telegramOffset: 'telegram_offset',
  /** Present while a cold start is draining the pending updates. */
  coldStart: 'cold_start',
  /** The id of the newest `rollback` event the admin chats were told about. */
  rollbackAnnounced: 'rollback_announced_event_id',
  /** When a chat outside `TG_ALLOWED_CHAT_IDS` was last told so (ms). */
  privateNotice: (chatId: number): string => `private_notice:${chatId}`,
  /** The model a chat chose with `/model`. */
  chatModel: (chatId: number): string => `chat_model:${chatId}`,
  /** How polling Telegram goes (`EdgeHealth` as JSON), for `autonous status`. */
  ingressHealth: 'ingress_health',
  /** How calling the model goes (`EdgeHealth` as JSON). */
  modelHealth: 'model_health',
  /**
   * The inbox id of a chat's (or a forum topic's) last `/new`: the model sees no turn from before it.
   * A topic has its own; the chat's own is its key without a topic.
   */
  conversationStart: (chatId: number, threadId: number | null = null): string =>
    `conversation_start:${chatId}${topicSuffix(threadId)}`,
  /** The project a chat (or a forum topic) chose with `/project` (absent: the default project). */
  chatProject: (chatId: number, threadId: number | null = null): string =>
    `chat_project:${chatId}${topicSuffix(threadId)}`,
  /** A group that became a supergroup: `migrated_chat:<new id>` holds the old id it was allowed as. */
  migratedChat: (chatId: number): string => `migrated_chat:${chatId}`,
  /** The prefix of every `migratedChat` key. */
  migratedChatPrefix: 'migrated_chat:',
  /** The newest inbox id checked for messages waiting behind a run (each is told once). */
  waitingToldThrough: 'waiting_told_through',
  /**
   * Self-release was turned on again (`/release on`) after the rollbacks up to this
   * `self_releases` id: they no longer count towards the circuit breaker.
   */
  selfReleaseOnAfter: 'self_release_on_after',
} as const;

/** What a forum topic adds to a chat's key (nothing for the chat's own conversation). */
function topicSuffix(threadId: number | null): string {
  return threadId === null ? '' : `:topic:${threadId}`;
}

/** A setting of the supervisor's: its default and the range it must lie in. */
export interface Threshold {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

const DAY_SECONDS = 86400;

/**
 * The supervisor's thresholds. The supervisor reads them all; the worker reads the crash-loop
 * count (a message that kills the worker dies before its crashes look like a loop), the CLI the
 * heartbeat timeout (status) and the number of revisions kept (release).
 */
export const SUPERVISOR_THRESHOLDS = {
  SUPERVISOR_CRASH_LOOP_RESTARTS: { default: 5, min: 1, max: 1000 },
  SUPERVISOR_CRASH_LOOP_WINDOW_SECONDS: { default: 300, min: 1, max: DAY_SECONDS },
  SUPERVISOR_MIN_UPTIME_SECONDS: { default: 60, min: 1, max: DAY_SECONDS },
  SUPERVISOR_PROMOTE_AFTER_SECONDS: { default: 120, min: 0, max: DAY_SECONDS },
  /** 0 turns the watchdog off. */
  SUPERVISOR_HEARTBEAT_TIMEOUT_SECONDS: { default: 90, min: 0, max: DAY_SECONDS },
  SUPERVISOR_KEEP_REVISIONS: { default: 5, min: 1, max: 100 },
  /** A candidate that has not reported itself ready this long after it started is rolled back. */
  SUPERVISOR_READY_SECONDS: { default: 60, min: 1, max: DAY_SECONDS },
} as const satisfies Record<string, Threshold>;

/** The name of one of the supervisor's thresholds. */
export type ThresholdName = keyof typeof SUPERVISOR_THRESHOLDS;

const CHAT_ID = /^-?\d{1,20}$/;

/**
 * A Telegram chat id as an operator writes it (negative for groups, like -100987654321), or null
 * when the text is not one. The one syntax of `TG_ALLOWED_CHAT_IDS`, `TG_ADMIN_CHAT_IDS` and the
 * CLI's `--chat`.
 */
export function parseChatId(text: string): number | null {
  const trimmed = text.trim();
  if (!CHAT_ID.test(trimmed)) return null;
  const id = Number(trimmed);
  return Number.isSafeInteger(id) ? id : null;
}

/** The example every chat-id message gives. */
export const CHAT_ID_EXAMPLE = '12345 or -100987654321';
