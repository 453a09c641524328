import {
  ConfigError,
  dbPath,
  type Env,
  readBool,
  readChatIds,
  readInt,
  readNumber,
  readRequired,
  readString,
  readThreshold,
  readUrl,
} from './env';

/** The worker's whole configuration, read and validated once at start. */
export interface WorkerConfig {
  readonly telegram: {
    readonly token: string;
    readonly apiRoot: string;
    /** Long-poll seconds passed to getUpdates. */
    readonly timeoutSeconds: number;
    /** Pause after a failed poll (the first step of the backoff). */
    readonly sleepSeconds: number;
    readonly dropPending: boolean;
    readonly pendingWindowSeconds: number;
    readonly pendingMaxMessages: number;
    /** Chats the bot answers; empty means nobody. */
    readonly allowedChatIds: readonly number[];
    /** Chats told about rollbacks. */
    readonly adminChatIds: readonly number[];
  };
  readonly openai: {
    readonly apiKey: string;
    readonly model: string;
    /** The full chat-completions URL as the user gives it. */
    readonly chatCompletionsUrl: string;
    /** The SDK's base URL: the chat-completions URL without `/chat/completions`. */
    readonly baseUrl: string;
    readonly timeoutSeconds: number;
  };
  readonly worker: {
    readonly systemPrompt: string;
    readonly contextMaxTokens: number;
    readonly maxAttempts: number;
    readonly concurrency: number;
    readonly retryBaseSeconds: number;
    readonly retryMaxSeconds: number;
    /** Exit after every Nth completed message (crash test); 0 is off. */
    readonly suicideEvery: number;
    /** How often the worker proves to the supervisor that it is alive. */
    readonly heartbeatSeconds: number;
    /** Test-only message triggers (`/__crash`, `/__hang`); never set in production. */
    readonly testTriggers: boolean;
    /**
     * The supervisor's `SUPERVISOR_CRASH_LOOP_RESTARTS`: a message that kills the worker is
     * dead-lettered before its crashes alone would look like a crash loop.
     */
    readonly crashLoopRestarts: number;
  };
  readonly dbPath: string;
}

export const DEFAULTS = {
  TELEGRAM_API_ROOT: 'https://api.telegram.org',
  TG_TIMEOUT: 30,
  TG_SLEEP_SECONDS: 1,
  TG_DROP_PENDING: true,
  TG_PENDING_WINDOW_SECONDS: 300,
  TG_PENDING_MAX_MESSAGES: 20,
  OPENAI_MODEL: 'gpt-4o-mini',
  OPENAI_CHAT_COMPLETIONS_URL: 'https://api.openai.com/v1/chat/completions',
  OPENAI_TIMEOUT_SECONDS: 120,
  WORKER_SYSTEM_PROMPT: 'You are a helpful assistant. Answer concisely.',
  WORKER_CONTEXT_MAX_TOKENS: 12000,
  WORKER_MAX_ATTEMPTS: 5,
  WORKER_CONCURRENCY: 1,
  WORKER_RETRY_BASE_SECONDS: 5,
  WORKER_RETRY_MAX_SECONDS: 600,
  WORKER_SUICIDE_EVERY: 0,
  WORKER_HEARTBEAT_SECONDS: 5,
} as const;

const COMPLETIONS_SUFFIX = '/chat/completions';

/** Reads and validates every worker variable; throws `ConfigError` naming the first bad one. */
export function loadWorkerConfig(env: Env): WorkerConfig {
  const token = readRequired(
    env,
    'TELEGRAM_BOT_TOKEN',
    'set it to the token @BotFather gave you, in the environment or in ~/.env.',
  );
  if (!/^\d+:[A-Za-z0-9_-]+$/.test(token)) {
    throw new ConfigError(
      'TELEGRAM_BOT_TOKEN',
      'TELEGRAM_BOT_TOKEN is malformed: it must look like 123456789:AAE... as @BotFather gives it.',
    );
  }
  const apiKey = readRequired(
    env,
    'OPENAI_API_KEY',
    'set it to your OpenAI API key, in the environment or in ~/.env.',
  );
  if (/\s/.test(apiKey)) {
    throw new ConfigError('OPENAI_API_KEY', 'OPENAI_API_KEY is malformed: it must not contain spaces.');
  }
  const chatCompletionsUrl = readUrl(
    env,
    'OPENAI_CHAT_COMPLETIONS_URL',
    DEFAULTS.OPENAI_CHAT_COMPLETIONS_URL,
  );
  if (!chatCompletionsUrl.endsWith(COMPLETIONS_SUFFIX)) {
    throw new ConfigError(
      'OPENAI_CHAT_COMPLETIONS_URL',
      `OPENAI_CHAT_COMPLETIONS_URL must be the full URL ending in ${COMPLETIONS_SUFFIX}, like ${DEFAULTS.OPENAI_CHAT_COMPLETIONS_URL}.`,
    );
  }
  const retryBaseSeconds = readNumber(
    env,
    'WORKER_RETRY_BASE_SECONDS',
    DEFAULTS.WORKER_RETRY_BASE_SECONDS,
    0,
    86400,
  );
  const retryMaxSeconds = readNumber(
    env,
    'WORKER_RETRY_MAX_SECONDS',
    DEFAULTS.WORKER_RETRY_MAX_SECONDS,
    0,
    7 * 86400,
  );
  if (retryMaxSeconds < retryBaseSeconds) {
    throw new ConfigError(
      'WORKER_RETRY_MAX_SECONDS',
      `WORKER_RETRY_MAX_SECONDS (${retryMaxSeconds}) must not be below WORKER_RETRY_BASE_SECONDS (${retryBaseSeconds}).`,
    );
  }
  const config: WorkerConfig = {
    telegram: {
      token,
      apiRoot: readUrl(env, 'TELEGRAM_API_ROOT', DEFAULTS.TELEGRAM_API_ROOT),
      timeoutSeconds: readInt(env, 'TG_TIMEOUT', DEFAULTS.TG_TIMEOUT, 0, 300),
      sleepSeconds: readNumber(env, 'TG_SLEEP_SECONDS', DEFAULTS.TG_SLEEP_SECONDS, 0, 3600),
      dropPending: readBool(env, 'TG_DROP_PENDING', DEFAULTS.TG_DROP_PENDING),
      pendingWindowSeconds: readInt(
        env,
        'TG_PENDING_WINDOW_SECONDS',
        DEFAULTS.TG_PENDING_WINDOW_SECONDS,
        0,
        10 ** 9,
      ),
      pendingMaxMessages: readInt(
        env,
        'TG_PENDING_MAX_MESSAGES',
        DEFAULTS.TG_PENDING_MAX_MESSAGES,
        0,
        10 ** 6,
      ),
      allowedChatIds: readChatIds(env, 'TG_ALLOWED_CHAT_IDS'),
      adminChatIds: readChatIds(env, 'TG_ADMIN_CHAT_IDS'),
    },
    openai: {
      apiKey,
      model: readString(env, 'OPENAI_MODEL', DEFAULTS.OPENAI_MODEL),
      chatCompletionsUrl,
      baseUrl: chatCompletionsUrl.slice(0, -COMPLETIONS_SUFFIX.length),
      timeoutSeconds: readNumber(env, 'OPENAI_TIMEOUT_SECONDS', DEFAULTS.OPENAI_TIMEOUT_SECONDS, 1, 3600),
    },
    worker: {
      systemPrompt: readString(env, 'WORKER_SYSTEM_PROMPT', DEFAULTS.WORKER_SYSTEM_PROMPT),
      contextMaxTokens: readInt(
        env,
        'WORKER_CONTEXT_MAX_TOKENS',
        DEFAULTS.WORKER_CONTEXT_MAX_TOKENS,
        256,
        10 ** 7,
      ),
      maxAttempts: readInt(env, 'WORKER_MAX_ATTEMPTS', DEFAULTS.WORKER_MAX_ATTEMPTS, 1, 100),
      concurrency: readInt(env, 'WORKER_CONCURRENCY', DEFAULTS.WORKER_CONCURRENCY, 1, 64),
      retryBaseSeconds,
      retryMaxSeconds,
      suicideEvery: readInt(env, 'WORKER_SUICIDE_EVERY', DEFAULTS.WORKER_SUICIDE_EVERY, 0, 10 ** 6),
      heartbeatSeconds: readNumber(
        env,
        'WORKER_HEARTBEAT_SECONDS',
        DEFAULTS.WORKER_HEARTBEAT_SECONDS,
        0.1,
        3600,
      ),
      testTriggers: readBool(env, 'WORKER_TEST_TRIGGERS', false),
      crashLoopRestarts: readThreshold(env, 'SUPERVISOR_CRASH_LOOP_RESTARTS'),
    },
    dbPath: dbPath(env),
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object' && !Object.isFrozen(child)) deepFreeze(child as object);
  }
  return Object.freeze(value);
}
