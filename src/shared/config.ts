import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SELF_NODE_MODULES, selfProjectPath } from '../workspace/self-project';
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
import { type ChoiceOf, type SettingNameOf, WORKER_SETTINGS } from './settings';

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
    readonly stream: ChoiceOf<'TG_STREAM'>;
    /** At most one draft per chat this often. */
    readonly draftIntervalMs: number;
    /** TG_FILE_MAX_MB in bytes: the largest file downloaded from a chat. */
    readonly fileMaxBytes: number;
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
    /** OPENAI_PROMPT_CACHE_KEY resolved: whether requests carry `prompt_cache_key`. */
    readonly promptCacheKey: boolean;
    /** OPENAI_SHOW_THINKING. */
    readonly showThinking: boolean;
    /** OPENAI_VISION: whether photos go to the model as images (`auto`: known vision models). */
    readonly vision: ChoiceOf<'OPENAI_VISION'>;
    /** OPENAI_TRANSCRIBE_MODEL; null when voice is off. */
    readonly transcribeModel: string | null;
    /** The full audio transcriptions URL (OPENAI_TRANSCRIPTIONS_URL, or derived). */
    readonly transcriptionsUrl: string;
  };
  readonly worker: {
    readonly systemPrompt: string;
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
    /** AGENT_CONTEXT_TOKENS: the window sessions compact to stay under; 0: the model's, from a table. */
    readonly contextTokens: number;
    /** AGENT_BUSY: whether a message that arrives during a run steers it or waits for the next run. */
    readonly busy: ChoiceOf<'AGENT_BUSY'>;
    /** The projects folder (absolute): one git repository per project. */
    readonly workspaces: string;
    readonly sandbox: ChoiceOf<'AGENT_SANDBOX'>;
    readonly approval: ChoiceOf<'AGENT_APPROVAL'>;
    readonly approvalTimeoutSeconds: number;
    /** AGENT_GIT_TIMEOUT_SECONDS: how long one git of the worker's (checkpoint, commit, /undo, /diff) may run. */
    readonly gitTimeoutSeconds: number;
    /** AGENT_UPLOADS_MAX_MB in bytes: the most a project's `uploads/` folder holds. */
    readonly uploadsMaxBytes: number;
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
    /** AGENT_SELF, SELF_RELEASE_CHECK, SELF_RELEASE_SECONDS: project `self` and `/release`. */
    readonly self: {
      readonly on: boolean;
      readonly check: string;
      readonly checkSeconds: number;
    };
  };
  readonly dbPath: string;
}

/**
 * Readers over `WORKER_SETTINGS`: each takes a variable's name and finds its default and range
 * (or choices) there, so none is typed in the parser.
 */
function settingsReader(env: Env) {
  return {
    int(name: SettingNameOf<'int'>): number {
      const { default: fallback, min, max } = WORKER_SETTINGS[name];
      return readInt(env, name, fallback, min, max);
    },
    number(name: SettingNameOf<'number'>): number {
      const { default: fallback, min, max } = WORKER_SETTINGS[name];
      return readNumber(env, name, fallback, min, max);
    },
    bool(name: SettingNameOf<'bool'>): boolean {
      return readBool(env, name, WORKER_SETTINGS[name].default);
    },
    choice<N extends SettingNameOf<'choice'>>(name: N): ChoiceOf<N> {
      const setting: { readonly default: ChoiceOf<N>; readonly choices: readonly ChoiceOf<N>[] } =
        WORKER_SETTINGS[name];
      return readChoice(env, name, setting.choices, setting.default);
    },
    string(name: SettingNameOf<'string'>): string {
      return readString(env, name, WORKER_SETTINGS[name].default);
    },
    url(name: SettingNameOf<'url'>): string {
      return readUrl(env, name, WORKER_SETTINGS[name].default);
    },
    required(name: SettingNameOf<'required'>): string {
      return readRequired(env, name, WORKER_SETTINGS[name].hint);
    },
  };
}

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
const TRANSCRIPTIONS_SUFFIX = '/audio/transcriptions';
const MB = 1024 * 1024;

/**
 * OPENAI_TRANSCRIPTIONS_URL, an http(s) URL ending in `/audio/transcriptions`; unset, the
 * chat-completions URL's base with that path (the same server, as OpenAI's own).
 */
function readTranscriptionsUrl(env: Env, chatCompletionsUrl: string): string {
  const name = 'OPENAI_TRANSCRIPTIONS_URL';
  const given = readString(env, name, WORKER_SETTINGS[name].default);
  if (given === '') return chatCompletionsUrl.slice(0, -COMPLETIONS_SUFFIX.length) + TRANSCRIPTIONS_SUFFIX;
  const url = readUrl(env, name, given);
  if (!url.endsWith(TRANSCRIPTIONS_SUFFIX)) {
    throw new ConfigError(name, `${name} must end in ${TRANSCRIPTIONS_SUFFIX} (got "${url}").`);
  }
  return url;
}

/** OpenAI's own server (the default URL's), known to take `prompt_cache_key`. */
const OPENAI_HOST = new URL(WORKER_SETTINGS.OPENAI_CHAT_COMPLETIONS_URL.default).hostname;

/**
 * Whether requests carry `prompt_cache_key`: `auto` sends it to OpenAI's own server only, since a
 * compatible server may refuse a field it does not know.
 */
function sendsPromptCacheKey(
  choice: ChoiceOf<'OPENAI_PROMPT_CACHE_KEY'>,
  chatCompletionsUrl: string,
): boolean {
  if (choice !== 'auto') return choice === 'on';
  return new URL(chatCompletionsUrl).hostname === OPENAI_HOST;
}

/** Reads and validates every worker variable; throws `ConfigError` naming the first bad one. */
export function loadWorkerConfig(env: Env): WorkerConfig {
  const read = settingsReader(env);
  const token = read.required('TELEGRAM_BOT_TOKEN');
  if (!/^\d+:[A-Za-z0-9_-]+$/.test(token)) {
    throw new ConfigError(
      'TELEGRAM_BOT_TOKEN',
      'TELEGRAM_BOT_TOKEN is malformed: it must look like 123456789:AAE... as @BotFather gives it.',
    );
  }
  const apiKey = read.required('OPENAI_API_KEY');
  if (/\s/.test(apiKey)) {
    throw new ConfigError('OPENAI_API_KEY', 'OPENAI_API_KEY is malformed: it must not contain spaces.');
  }
  const chatCompletionsUrl = read.url('OPENAI_CHAT_COMPLETIONS_URL');
  if (!chatCompletionsUrl.endsWith(COMPLETIONS_SUFFIX)) {
    throw new ConfigError(
      'OPENAI_CHAT_COMPLETIONS_URL',
      `OPENAI_CHAT_COMPLETIONS_URL must be the full URL ending in ${COMPLETIONS_SUFFIX}, like ${WORKER_SETTINGS.OPENAI_CHAT_COMPLETIONS_URL.default}.`,
    );
  }
  const retryBaseSeconds = read.number('WORKER_RETRY_BASE_SECONDS');
  const retryMaxSeconds = read.number('WORKER_RETRY_MAX_SECONDS');
  if (retryMaxSeconds < retryBaseSeconds) {
    throw new ConfigError(
      'WORKER_RETRY_MAX_SECONDS',
      `WORKER_RETRY_MAX_SECONDS (${retryMaxSeconds}) must not be below WORKER_RETRY_BASE_SECONDS (${retryBaseSeconds}).`,
    );
  }
  const model = read.string('OPENAI_MODEL');
  const transcribeModel = read.string('OPENAI_TRANSCRIBE_MODEL').trim();
  const listed = (env.OPENAI_MODELS ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  const prices = parsePrices(env.OPENAI_PRICES ?? '');
  if (typeof prices === 'string') {
    throw new ConfigError('OPENAI_PRICES', `OPENAI_PRICES is malformed: ${prices}.`);
  }
  const stream = read.choice('TG_STREAM');
  const database = dbPath(env);
  const config: WorkerConfig = {
    telegram: {
      token,
      apiRoot: read.url('TELEGRAM_API_ROOT'),
      timeoutSeconds: read.int('TG_TIMEOUT'),
      sleepSeconds: read.number('TG_SLEEP_SECONDS'),
      dropPending: read.bool('TG_DROP_PENDING'),
      pendingWindowSeconds: read.int('TG_PENDING_WINDOW_SECONDS'),
      pendingMaxMessages: read.int('TG_PENDING_MAX_MESSAGES'),
      allowedChatIds: readChatIds(env, 'TG_ALLOWED_CHAT_IDS'),
      adminChatIds: readChatIds(env, 'TG_ADMIN_CHAT_IDS'),
      stream,
      draftIntervalMs: read.int('TG_DRAFT_INTERVAL_MS'),
      fileMaxBytes: read.int('TG_FILE_MAX_MB') * MB,
    },
    openai: {
      apiKey,
      model,
      chatCompletionsUrl,
      baseUrl: chatCompletionsUrl.slice(0, -COMPLETIONS_SUFFIX.length),
      timeoutSeconds: read.number('OPENAI_TIMEOUT_SECONDS'),
      showThinking: read.bool('OPENAI_SHOW_THINKING'),
      models: [model, ...listed.filter((m) => m !== model)],
      prices: { ...DEFAULT_PRICES, ...prices },
      promptCacheKey: sendsPromptCacheKey(read.choice('OPENAI_PROMPT_CACHE_KEY'), chatCompletionsUrl),
      vision: read.choice('OPENAI_VISION'),
      transcribeModel: transcribeModel === 'off' ? null : transcribeModel,
      transcriptionsUrl: readTranscriptionsUrl(env, chatCompletionsUrl),
    },
    worker: {
      systemPrompt: read.string('WORKER_SYSTEM_PROMPT'),
      maxAttempts: read.int('WORKER_MAX_ATTEMPTS'),
      concurrency: read.int('WORKER_CONCURRENCY'),
      retryBaseSeconds,
      retryMaxSeconds,
      suicideEvery: read.int('WORKER_SUICIDE_EVERY'),
      heartbeatSeconds: read.number('WORKER_HEARTBEAT_SECONDS'),
      testTriggers: read.bool('WORKER_TEST_TRIGGERS'),
      crashLoopRestarts: readThreshold(env, 'SUPERVISOR_CRASH_LOOP_RESTARTS'),
      dailyTokensPerChat: read.int('WORKER_DAILY_TOKENS_PER_CHAT'),
      metricsPort: read.int('AUTONOUS_METRICS_PORT'),
    },
    agent: readAgent(env, database),
    dbPath: database,
  };
  return deepFreeze(config);
}

/** The AGENT_* variables; `database` places the default workspaces folder beside it. */
function readAgent(env: Env, database: string): WorkerConfig['agent'] {
  const read = settingsReader(env);
  const given = readString(env, 'AGENT_WORKSPACES', '');
  const agent: WorkerConfig['agent'] = {
    tools: read.choice('AGENT_TOOLS') === 'on',
    maxSteps: read.int('AGENT_MAX_STEPS'),
    maxRunSeconds: read.number('AGENT_MAX_RUN_SECONDS'),
    maxRunTokens: read.int('AGENT_MAX_RUN_TOKENS'),
    contextTokens: read.int('AGENT_CONTEXT_TOKENS'),
    busy: read.choice('AGENT_BUSY'),
    // a relative folder is taken from the project folder, as TG_DB_PATH is
    workspaces:
      given === ''
        ? path.join(path.dirname(database), WORKER_SETTINGS.AGENT_WORKSPACES.default)
        : path.resolve(projectHome(env), given),
    sandbox: read.choice('AGENT_SANDBOX'),
    approval: read.choice('AGENT_APPROVAL'),
    approvalTimeoutSeconds: read.number('AGENT_APPROVAL_TIMEOUT_SECONDS'),
    gitTimeoutSeconds: read.number('AGENT_GIT_TIMEOUT_SECONDS'),
    uploadsMaxBytes: read.int('AGENT_UPLOADS_MAX_MB') * MB,
    // absolute as it was read (relative to the working folder), so bwrap sees the same file
    envFile: path.resolve(envFilePath(env)),
    checkout: projectHome(env),
    pm2Home: pm2HomeOf(env),
    sandboxRead: readSandboxRead(env),
    approvers: readApprovers(env, readChatIds(env, 'TG_ALLOWED_CHAT_IDS')),
    projects: readProjects(env),
    self: {
      on: read.choice('AGENT_SELF') === 'on',
      check: readString(env, 'SELF_RELEASE_CHECK', WORKER_SETTINGS.SELF_RELEASE_CHECK.default),
      checkSeconds: read.number('SELF_RELEASE_SECONDS'),
    },
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
  const { agent } = config;
  return sandboxPolicy({
    extraRead: agent.sandboxRead,
    protect: protectedPaths(agent, path.dirname(config.dbPath)),
    // project self builds and tests with the checkout's packages, which it may read, not change
    projectReads: agent.self.on
      ? {
          [selfProjectPath(agent.workspaces)]: [
            {
              source: path.join(agent.checkout, 'node_modules'),
              target: path.join(selfProjectPath(agent.workspaces), SELF_NODE_MODULES),
            },
          ],
        }
      : {},
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
