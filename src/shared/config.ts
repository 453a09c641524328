import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConfigError,
  dbPath,
  envFilePath,
  type Env,
  projectHome,
  readBool,
  readChatIds,
  readInt,
  readNumber,
  readRequired,
  readString,
  readThreshold,
  readUrl,
} from './env';
import { projectNameError } from '../workspace/projects';
import {
  heldProtectedPlace,
  pm2HomeOf,
  projectFolderError,
  type ProtectedPaths,
  readFolderError,
  sandboxPolicy,
  type SandboxPolicy,
} from '../workspace/sandbox-policy';
import { DEFAULT_PRICES, parsePrices, type Price } from './prices';

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
    /** `draft`: private chats see the answer grow (sendMessageDraft); `off`: typing only. */
    readonly stream: 'draft' | 'off';
    /** At most one draft per chat this often. */
    readonly draftIntervalMs: number;
  };
  readonly openai: {
    readonly apiKey: string;
    readonly model: string;
    /** The full chat-completions URL as the user gives it. */
    readonly chatCompletionsUrl: string;
    /** The SDK's base URL: the chat-completions URL without `/chat/completions`. */
    readonly baseUrl: string;
    readonly timeoutSeconds: number;
    /** The models a chat may pick with `/model` (OPENAI_MODELS); always holds `model`. */
    readonly models: readonly string[];
    /** USD per million tokens, the defaults overridden by OPENAI_PRICES. */
    readonly prices: Readonly<Record<string, Price>>;
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
    /** Tokens a chat may use per day (UTC) before it is told to wait; 0 is no limit. */
    readonly dailyTokensPerChat: number;
    /** Port of the Prometheus `/metrics` endpoint on 127.0.0.1; 0 is off. */
    readonly metricsPort: number;
  };
  readonly agent: {
    /** `on`: every answer of an allowed chat is an agent run with tools; `off`: a plain answer. */
    readonly tools: boolean;
    readonly maxSteps: number;
    readonly maxRunSeconds: number;
    readonly maxRunTokens: number;
    /** The projects folder (absolute): one git repository per project. */
    readonly workspaces: string;
    readonly sandbox: 'auto' | 'bwrap' | 'off';
    readonly approval: 'on-risk' | 'always' | 'never';
    readonly approvalTimeoutSeconds: number;
    /** AGENT_GIT_TIMEOUT_SECONDS: how long one git of the worker's (checkpoint, commit, /undo, /diff) may run. */
    readonly gitTimeoutSeconds: number;
    /** The env file the secrets may come from (absolute): never visible to a command. */
    readonly envFile: string;
    /** AUTONOUS_HOME, the checkout the worker runs from (absolute): never visible to a command. */
    readonly checkout: string;
    /** PM2's home (`PM2_HOME`, default ~/.pm2): its socket starts processes outside any sandbox. */
    readonly pm2Home: string;
    /** AGENT_SANDBOX_READ: further folders commands may read (real absolute paths). */
    readonly sandboxRead: readonly string[];
    /** AGENT_APPROVERS: the Telegram user ids whose presses decide; default the allowed private chats. */
    readonly approvers: readonly number[];
    /** AGENT_PROJECTS: projects outside the workspaces folder, by name (real absolute paths). */
    readonly projects: Readonly<Record<string, string>>;
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
  WORKER_DAILY_TOKENS_PER_CHAT: 0,
  TG_STREAM: 'draft',
  TG_DRAFT_INTERVAL_MS: 1000,
  AUTONOUS_METRICS_PORT: 0,
  AGENT_TOOLS: 'on',
  AGENT_MAX_STEPS: 30,
  AGENT_MAX_RUN_SECONDS: 1800,
  AGENT_MAX_RUN_TOKENS: 300_000,
  /** Beside the database, like the supervisor's `releases/`. */
  AGENT_WORKSPACES: 'workspaces',
  AGENT_SANDBOX: 'auto',
  AGENT_APPROVAL: 'on-risk',
  AGENT_APPROVAL_TIMEOUT_SECONDS: 1800,
  AGENT_GIT_TIMEOUT_SECONDS: 60,
} as const;

/**
 * AGENT_PROJECTS (`name=/abs/path,...`): each name `[a-z0-9-]{1,40}`, each path absolute and an
 * existing folder; the paths come back real (symlinks resolved), as the tools' confinement needs.
 */
export function readProjects(env: Env): Readonly<Record<string, string>> {
  const name = 'AGENT_PROJECTS';
  const value = (env[name] ?? '').trim();
  const projects: Record<string, string> = {};
  if (value === '') return Object.freeze(projects);
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const eq = entry.indexOf('=');
    const project = eq < 0 ? '' : entry.slice(0, eq).trim();
    const dir = eq < 0 ? '' : entry.slice(eq + 1).trim();
    if (project === '' || projectNameError(project) !== null) {
      throw new ConfigError(
        name,
        `${name} must be name=/absolute/path pairs separated by commas, each name 1 to 40 lowercase letters, digits and dashes (got "${entry}").`,
      );
    }
    if (!path.isAbsolute(dir)) {
      throw new ConfigError(name, `${name}: the path of ${project} must be absolute (got "${dir}").`);
    }
    if (projects[project] !== undefined) {
      throw new ConfigError(name, `${name} names the project ${project} twice.`);
    }
    let real: string;
    try {
      real = fs.realpathSync(dir);
    } catch {
      throw new ConfigError(name, `${name}: the folder of ${project} (${dir}) does not exist.`);
    }
    if (!fs.statSync(real).isDirectory()) {
      throw new ConfigError(name, `${name}: ${dir} (the project ${project}) is not a folder.`);
    }
    projects[project] = real;
  }
  return Object.freeze(projects);
}

/** AGENT_APPROVERS, or the positive (private chat, i.e. user) ids of TG_ALLOWED_CHAT_IDS. */
function readApprovers(env: Env, allowedChatIds: readonly number[]): readonly number[] {
  const listed = readChatIds(env, 'AGENT_APPROVERS');
  if (listed.some((id) => id <= 0)) {
    throw new ConfigError('AGENT_APPROVERS', 'AGENT_APPROVERS must be Telegram user ids (positive numbers).');
  }
  return listed.length > 0 ? listed : Object.freeze(allowedChatIds.filter((id) => id > 0));
}

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
  const model = readString(env, 'OPENAI_MODEL', DEFAULTS.OPENAI_MODEL);
  const listed = (env.OPENAI_MODELS ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  const prices = parsePrices(env.OPENAI_PRICES ?? '');
  if (typeof prices === 'string') {
    throw new ConfigError('OPENAI_PRICES', `OPENAI_PRICES is malformed: ${prices}.`);
  }
  const stream = readString(env, 'TG_STREAM', DEFAULTS.TG_STREAM);
  if (stream !== 'draft' && stream !== 'off') {
    throw new ConfigError('TG_STREAM', `TG_STREAM must be draft or off, not "${stream}".`);
  }
  const database = dbPath(env);
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
      stream,
      draftIntervalMs: readInt(env, 'TG_DRAFT_INTERVAL_MS', DEFAULTS.TG_DRAFT_INTERVAL_MS, 100, 600_000),
    },
    openai: {
      apiKey,
      model,
      chatCompletionsUrl,
      baseUrl: chatCompletionsUrl.slice(0, -COMPLETIONS_SUFFIX.length),
      timeoutSeconds: readNumber(env, 'OPENAI_TIMEOUT_SECONDS', DEFAULTS.OPENAI_TIMEOUT_SECONDS, 1, 3600),
      models: [model, ...listed.filter((m) => m !== model)],
      prices: { ...DEFAULT_PRICES, ...prices },
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
      dailyTokensPerChat: readInt(
        env,
        'WORKER_DAILY_TOKENS_PER_CHAT',
        DEFAULTS.WORKER_DAILY_TOKENS_PER_CHAT,
        0,
        10 ** 12,
      ),
      metricsPort: readInt(env, 'AUTONOUS_METRICS_PORT', DEFAULTS.AUTONOUS_METRICS_PORT, 0, 65535),
    },
    agent: readAgent(env, database),
    dbPath: database,
  };
  return deepFreeze(config);
}

/** The AGENT_* variables; `database` places the default workspaces folder beside it. */
function readAgent(env: Env, database: string): WorkerConfig['agent'] {
  const given = readString(env, 'AGENT_WORKSPACES', '');
  const agent: WorkerConfig['agent'] = {
    tools: readChoice(env, 'AGENT_TOOLS', ['on', 'off'], DEFAULTS.AGENT_TOOLS) === 'on',
    maxSteps: readInt(env, 'AGENT_MAX_STEPS', DEFAULTS.AGENT_MAX_STEPS, 1, 10_000),
    maxRunSeconds: readNumber(env, 'AGENT_MAX_RUN_SECONDS', DEFAULTS.AGENT_MAX_RUN_SECONDS, 1, 7 * 86400),
    maxRunTokens: readInt(env, 'AGENT_MAX_RUN_TOKENS', DEFAULTS.AGENT_MAX_RUN_TOKENS, 1, 10 ** 12),
    // a relative folder is taken from the project folder, as TG_DB_PATH is
    workspaces:
      given === ''
        ? path.join(path.dirname(database), DEFAULTS.AGENT_WORKSPACES)
        : path.resolve(projectHome(env), given),
    sandbox: readChoice(env, 'AGENT_SANDBOX', ['auto', 'bwrap', 'off'], DEFAULTS.AGENT_SANDBOX),
    approval: readChoice(env, 'AGENT_APPROVAL', ['on-risk', 'always', 'never'], DEFAULTS.AGENT_APPROVAL),
    approvalTimeoutSeconds: readNumber(
      env,
      'AGENT_APPROVAL_TIMEOUT_SECONDS',
      DEFAULTS.AGENT_APPROVAL_TIMEOUT_SECONDS,
      1,
      30 * 86400,
    ),
    gitTimeoutSeconds: readNumber(
      env,
      'AGENT_GIT_TIMEOUT_SECONDS',
      DEFAULTS.AGENT_GIT_TIMEOUT_SECONDS,
      1,
      3600,
    ),
    // absolute as it was read (relative to the working folder), so bwrap sees the same file
    envFile: path.resolve(envFilePath(env)),
    checkout: projectHome(env),
    pm2Home: pm2HomeOf(env),
    sandboxRead: readSandboxRead(env),
    approvers: readApprovers(env, readChatIds(env, 'TG_ALLOWED_CHAT_IDS')),
    projects: readProjects(env),
  };
  checkProtectedPlaces(agent, path.dirname(database));
  return agent;
}

function protectedPaths(agent: WorkerConfig['agent'], stateDir: string): ProtectedPaths {
  return {
    stateDir,
    envFile: agent.envFile,
    checkout: agent.checkout,
    pm2Home: agent.pm2Home,
    home: os.homedir(),
  };
}

/** What commands may see under this configuration: the mount policy of the sandbox. */
export function sandboxPolicyOf(config: WorkerConfig): SandboxPolicy {
  return sandboxPolicy({
    extraRead: config.agent.sandboxRead,
    protect: protectedPaths(config.agent, path.dirname(config.dbPath)),
  });
}

/**
 * AGENT_SANDBOX_READ (`/abs/path,...`): folders every command may read besides the system's
 * (a toolchain under a home folder); each absolute and existing, returned real.
 */
export function readSandboxRead(env: Env): readonly string[] {
  const name = 'AGENT_SANDBOX_READ';
  const folders: string[] = [];
  for (const entry of (env[name] ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    if (!path.isAbsolute(entry)) {
      throw new ConfigError(name, `${name} must list absolute paths separated by commas (got "${entry}").`);
    }
    try {
      folders.push(fs.realpathSync(entry));
    } catch {
      throw new ConfigError(name, `${name}: ${entry} does not exist.`);
    }
  }
  return Object.freeze(folders);
}

/**
 * A project is mounted read-write into every command and a read folder read-only, so neither
 * may hold the worker's own places (its state, env file, checkout, PM2 home), and a project
 * may not lie in the checkout (the code the worker runs) or the state folder.
 */
function checkProtectedPlaces(agent: WorkerConfig['agent'], stateDir: string): void {
  const protect = protectedPaths(agent, stateDir);
  for (const [project, folder] of Object.entries(agent.projects)) {
    const error = projectFolderError(folder, protect);
    if (error !== null) {
      throw new ConfigError(
        'AGENT_PROJECTS',
        `AGENT_PROJECTS: the project ${project} cannot be used: ${error}, which commands must never see. Name a folder of its own.`,
      );
    }
  }
  // the workspaces folder's projects are folders the worker makes in it: it only may not hold one
  const workspacesError = heldProtectedPlace(agent.workspaces, protect);
  if (workspacesError !== null) {
    throw new ConfigError(
      'AGENT_WORKSPACES',
      `AGENT_WORKSPACES cannot be used: ${workspacesError}, which commands must never see. Name a folder of its own.`,
    );
  }
  for (const folder of agent.sandboxRead) {
    const error = readFolderError(folder, protect);
    if (error !== null) {
      throw new ConfigError(
        'AGENT_SANDBOX_READ',
        `AGENT_SANDBOX_READ cannot list ${folder}: ${error}, which commands must never see.`,
      );
    }
  }
}

/** One of `choices`, or `fallback` when unset; anything else is a ConfigError listing them. */
function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const value = readString(env, name, fallback);
  if (!(choices as readonly string[]).includes(value)) {
    throw new ConfigError(name, `${name} must be ${choices.join(' or ')}, not "${value}".`);
  }
  return value as T;
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object' && !Object.isFrozen(child)) deepFreeze(child as object);
  }
  return Object.freeze(value);
}
