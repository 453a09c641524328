// Every variable the worker and the processes beside it read (the supervisor's thresholds aside,
// which are SUPERVISOR_THRESHOLDS in contracts.ts), with its default, range and meaning: the one
// definition the config parser reads and test/unit/config-doc.test.ts checks docs/configuration.md
// against. It imports nothing, so the supervisor and the logger may read it without the worker's
// configuration.

interface Described {
  /** One line: what the variable sets. */
  readonly meaning: string;
  /**
   * The default as the documentation writes it, where the value is computed (a folder beside the
   * database, the checkout) or is no literal (the table of prices); absent, the default itself is
   * what is documented.
   */
  readonly documented?: string;
}

/** A whole number in [min, max]. */
export interface IntSetting extends Described {
  readonly kind: 'int';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** A number (fractions allowed) in [min, max]. */
export interface NumberSetting extends Described {
  readonly kind: 'number';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** true/false, 1/0, yes/no, on/off. */
export interface BoolSetting extends Described {
  readonly kind: 'bool';
  readonly default: boolean;
}

/** One of a few words. */
export interface ChoiceSetting extends Described {
  readonly kind: 'choice';
  readonly default: string;
  readonly choices: readonly string[];
}

/** Free text, or an http(s) URL (`url`). */
export interface TextSetting extends Described {
  readonly kind: 'string' | 'url';
  readonly default: string;
}

/** A secret the process cannot start without; `hint` says where the operator gets it. */
export interface RequiredSetting extends Described {
  readonly kind: 'required';
  readonly hint: string;
}

/** A comma-separated list, empty when unset unless `documented` says what stands in for it. */
export interface ListSetting extends Described {
  readonly kind: 'list' | 'chat-ids';
}

/** A file or folder; relative paths are taken from the project folder. No `default`: computed. */
export type PathSetting =
  | (Described & { readonly kind: 'path'; readonly default: string })
  | (Described & { readonly kind: 'path'; readonly documented: string });

/** How one variable is read, its default and what it means. */
export type Setting =
  | IntSetting
  | NumberSetting
  | BoolSetting
  | ChoiceSetting
  | TextSetting
  | RequiredSetting
  | ListSetting
  | PathSetting;

const DAY_SECONDS = 86400;

/** Every variable of docs/configuration.md, in its order. */
export const WORKER_SETTINGS = {
  TELEGRAM_BOT_TOKEN: {
    kind: 'required',
    hint: 'set it to the token @BotFather gave you, in the environment or in ~/.env.',
    meaning: "the bot's token from @BotFather",
  },
  OPENAI_API_KEY: {
    kind: 'required',
    hint: 'set it to your OpenAI API key, in the environment or in ~/.env.',
    meaning: 'the OpenAI API key',
  },
  TG_ALLOWED_CHAT_IDS: { kind: 'chat-ids', meaning: 'chats the bot answers; empty means nobody' },
  TELEGRAM_API_ROOT: {
    kind: 'url',
    default: 'https://api.telegram.org',
    meaning: "Bot API server (a local Bot API server, or the tests' fake)",
  },
  TG_TIMEOUT: { kind: 'int', default: 30, min: 0, max: 300, meaning: 'long-poll seconds per getUpdates' },
  TG_SLEEP_SECONDS: {
    kind: 'number',
    default: 1,
    min: 0,
    max: 3600,
    meaning: 'first pause after a failed poll (the first step of the backoff)',
  },
  TG_DROP_PENDING: {
    kind: 'bool',
    default: true,
    meaning: 'on the very first start, filter the updates already pending',
  },
  TG_PENDING_WINDOW_SECONDS: {
    kind: 'int',
    default: 300,
    min: 0,
    max: 10 ** 9,
    meaning: 'cold start: pending messages older than this are skipped',
  },
  TG_PENDING_MAX_MESSAGES: {
    kind: 'int',
    default: 20,
    min: 0,
    max: 10 ** 6,
    meaning: 'cold start: only the newest this many pending messages are answered',
  },
  TG_ADMIN_CHAT_IDS: { kind: 'chat-ids', meaning: 'chats told when the supervisor rolled a release back' },
  TG_STREAM: {
    kind: 'choice',
    default: 'draft',
    choices: ['draft', 'off'],
    meaning: '`draft`: private chats see the answer grow (sendMessageDraft); `off`: typing only',
  },
  TG_DRAFT_INTERVAL_MS: {
    kind: 'int',
    default: 1000,
    min: 100,
    max: 600_000,
    meaning: 'at most one draft per answer this often',
  },
  TG_FILE_MAX_MB: {
    kind: 'int',
    default: 20,
    min: 1,
    max: 2000,
    meaning:
      "the largest file the bot downloads from a chat, in MB: the Bot API's limit is 20; a local Bot API server (TELEGRAM_API_ROOT) allows up to 2000",
  },
  OPENAI_MODEL: {
    kind: 'string',
    default: 'gpt-4o-mini',
    meaning: 'chat model, and the default of every chat',
  },
  OPENAI_MODELS: {
    kind: 'list',
    documented: 'just OPENAI_MODEL',
    meaning: 'models a chat may pick with /model (OPENAI_MODEL is always one)',
  },
  OPENAI_PRICES: {
    kind: 'list',
    documented: 'the table under Usage and cost',
    meaning: '`model=input/output[/cached],...` in USD per million tokens, over DEFAULT_PRICES',
  },
  OPENAI_CHAT_COMPLETIONS_URL: {
    kind: 'url',
    default: 'https://api.openai.com/v1/chat/completions',
    meaning: 'the full chat-completions URL (any compatible server)',
  },
  OPENAI_TIMEOUT_SECONDS: {
    kind: 'number',
    default: 120,
    min: 1,
    max: 3600,
    meaning: 'a model call that takes longer is a transient failure',
  },
  OPENAI_SHOW_THINKING: {
    kind: 'bool',
    default: false,
    meaning: "show a model's leading `<think>…</think>` folded above its answer (off: left out)",
  },
  OPENAI_PROMPT_CACHE_KEY: {
    kind: 'choice',
    default: 'auto',
    choices: ['auto', 'on', 'off'],
    meaning:
      "send `prompt_cache_key` (chat and project) so the provider caches the session's prefix; `auto`: only to api.openai.com (other servers may refuse unknown fields)",
  },
  OPENAI_VISION: {
    kind: 'choice',
    default: 'auto',
    choices: ['auto', 'on', 'off'],
    meaning:
      'give photos to the model as images; `off`: the model is told their path only; `auto`: for models known to see (a table)',
  },
  OPENAI_TRANSCRIBE_MODEL: {
    kind: 'string',
    default: 'gpt-4o-mini-transcribe',
    meaning: 'the model voice and video notes are transcribed with; `off`: voice is not read',
  },
  OPENAI_TRANSCRIPTIONS_URL: {
    kind: 'string',
    default: '',
    documented: "OPENAI_CHAT_COMPLETIONS_URL's base + /audio/transcriptions",
    meaning: "the full audio transcriptions URL (a server other than the chat model's)",
  },
  WORKER_SYSTEM_PROMPT: {
    kind: 'string',
    default: 'You are a helpful assistant. Answer concisely.',
    meaning: 'system prompt',
  },
  WORKER_MAX_ATTEMPTS: {
    kind: 'int',
    default: 5,
    min: 1,
    max: 100,
    meaning: 'attempts per message before it is dead',
  },
  WORKER_RETRY_BASE_SECONDS: {
    kind: 'number',
    default: 5,
    min: 0,
    max: DAY_SECONDS,
    meaning: 'retry delay: min(max, base × 2^(attempt−1)), ±20 % jitter',
  },
  WORKER_RETRY_MAX_SECONDS: {
    kind: 'number',
    default: 600,
    min: 0,
    max: 7 * DAY_SECONDS,
    meaning: 'cap of the retry delay (not below the base)',
  },
  WORKER_CONCURRENCY: {
    kind: 'int',
    default: 1,
    min: 1,
    max: 64,
    meaning: 'chats answered at once (one message per chat at a time, always)',
  },
  WORKER_DAILY_TOKENS_PER_CHAT: {
    kind: 'int',
    default: 0,
    min: 0,
    max: 10 ** 12,
    meaning: 'tokens a chat may use per UTC day before it is told to wait; 0 is no limit',
  },
  WORKER_SUICIDE_EVERY: {
    kind: 'int',
    default: 0,
    min: 0,
    max: 10 ** 6,
    meaning: 'crash test: exit after every Nth answered message; 0 is off',
  },
  WORKER_HEARTBEAT_SECONDS: {
    kind: 'number',
    default: 5,
    min: 0.1,
    max: 3600,
    meaning: 'how often the worker tells the supervisor it is alive',
  },
  WORKER_TEST_TRIGGERS: {
    kind: 'bool',
    default: false,
    meaning: 'test-only message triggers (/__crash, /__hang); never set in production',
  },
  AUTONOUS_METRICS_PORT: {
    kind: 'int',
    default: 0,
    min: 0,
    max: 65535,
    meaning: 'port of the Prometheus /metrics endpoint on 127.0.0.1; 0 is off',
  },
  AGENT_TOOLS: {
    kind: 'choice',
    default: 'on',
    choices: ['on', 'off'],
    meaning: '`on`: every answer of an allowed chat is an agent run with tools; `off`: a plain answer',
  },
  AGENT_MAX_STEPS: { kind: 'int', default: 30, min: 1, max: 10_000, meaning: 'model calls per run' },
  AGENT_MAX_RUN_SECONDS: {
    kind: 'number',
    default: 1800,
    min: 1,
    max: 7 * DAY_SECONDS,
    meaning: 'time per run, waiting for approvals not counted',
  },
  AGENT_MAX_RUN_TOKENS: {
    kind: 'int',
    default: 2_000_000,
    min: 1,
    max: 10 ** 12,
    meaning:
      "a run's cost in tokens: prompt tokens not cached + completion tokens + cached tokens weighed by their price (their share of the input price; 1 for a model without a price)",
  },
  AGENT_CONTEXT_TOKENS: {
    kind: 'int',
    default: 0,
    min: 0,
    max: 10 ** 7,
    documented: "0: the model's window from a table of known models (128,000 for a model not in it)",
    meaning: "the model's context window in tokens, which sessions compact to stay under",
  },
  AGENT_BUSY: {
    kind: 'choice',
    default: 'steer',
    choices: ['steer', 'queue'],
    meaning:
      'what happens to a message that arrives while a run works: `steer` gives it to that run at its next step, `queue` keeps it for the next run (the person is told it waits)',
  },
  AGENT_UPLOADS_MAX_MB: {
    kind: 'int',
    default: 500,
    min: 1,
    max: 10 ** 6,
    meaning: "the most a project's `uploads/` folder holds, in MB: a file that would pass it is refused",
  },
  AGENT_WORKSPACES: {
    kind: 'path',
    // beside the database, like the supervisor's `releases/`
    default: 'workspaces',
    documented: 'workspaces beside the database (state/workspaces)',
    meaning: 'the projects folder, one git repository per project',
  },
  AGENT_PROJECTS: {
    kind: 'list',
    meaning: '`name=/abs/path,...`: existing folders outside the workspaces folder that chats may pick',
  },
  AGENT_SANDBOX: {
    kind: 'choice',
    default: 'auto',
    choices: ['auto', 'bwrap', 'off'],
    meaning: '`auto`: bubblewrap when it works, else unsandboxed; `bwrap`: required; `off`',
  },
  AGENT_SANDBOX_READ: {
    kind: 'list',
    meaning: 'absolute folders commands may also read besides the system folders',
  },
  AGENT_APPROVAL: {
    kind: 'choice',
    default: 'on-risk',
    choices: ['on-risk', 'always', 'never'],
    meaning: 'which tool calls wait for a person',
  },
  AGENT_APPROVAL_TIMEOUT_SECONDS: {
    kind: 'number',
    default: 1800,
    min: 1,
    max: 30 * DAY_SECONDS,
    meaning: 'no decision within this long is a denial',
  },
  AGENT_GIT_TIMEOUT_SECONDS: {
    kind: 'number',
    default: 60,
    min: 1,
    max: 3600,
    meaning: "how long one git of the worker's (checkpoint, commit, /undo, /diff) may run",
  },
  AGENT_APPROVERS: {
    kind: 'chat-ids',
    documented: 'the positive ids of TG_ALLOWED_CHAT_IDS',
    meaning: 'Telegram user ids whose presses and /approve, /deny decide',
  },
  AGENT_SELF: {
    kind: 'choice',
    default: 'off',
    choices: ['off', 'on'],
    meaning:
      "`on`: approvers' chats may pick project `self` (a clone of the checkout) and ship it with `/release`",
  },
  SELF_RELEASE_CHECK: {
    kind: 'string',
    default:
      'node node_modules/typescript/bin/tsc -p tsconfig.json --noEmit && node node_modules/eslint/bin/eslint.js src test && node node_modules/jest/bin/jest.js --ci test/unit',
    documented: 'the type-check, lint and the unit tests',
    meaning: "what `/release` runs in the sandbox after the build; it must exit 0 for the card's Release",
  },
  SELF_RELEASE_SECONDS: {
    kind: 'number',
    default: 900,
    min: 10,
    max: 6 * 3600,
    meaning: "how long `/release`'s build and checks may run together",
  },
  TG_DB_PATH: {
    kind: 'path',
    default: 'state/agent.db',
    meaning: 'the SQLite file (its folder is created, owner-only)',
  },
  AUTONOUS_ENV_FILE: {
    kind: 'path',
    documented: '~/.env',
    meaning: 'env file that fills unset variables; one named explicitly must exist',
  },
  AUTONOUS_HOME: {
    kind: 'path',
    documented: 'the checkout',
    meaning: 'project folder (set by ecosystem.config.cjs)',
  },
  // read by ecosystem.config.cjs, which cannot import this file: its default is typed there too
  AUTONOUS_LOG_DIR: {
    kind: 'path',
    default: 'state/logs',
    meaning: 'where PM2 writes the apps logs',
  },
  // read by the logger, which falls back to the default on an unknown level rather than stop
  LOG_LEVEL: {
    kind: 'choice',
    default: 'info',
    choices: ['debug', 'info', 'warn', 'error'],
    meaning: 'the least severe level written (message text is never logged)',
  },
} as const satisfies Record<string, Setting>;

/** The name of a variable of `WORKER_SETTINGS`. */
export type SettingName = keyof typeof WORKER_SETTINGS;

/** The names of the variables of one kind, so a reader takes only names it can read. */
export type SettingNameOf<K extends Setting['kind']> = {
  [N in SettingName]: (typeof WORKER_SETTINGS)[N]['kind'] extends K ? N : never;
}[SettingName];

/** The values a choice variable may take. */
export type ChoiceOf<N extends SettingNameOf<'choice'>> = (typeof WORKER_SETTINGS)[N]['choices'][number];
