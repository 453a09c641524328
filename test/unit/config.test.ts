import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadWorkerConfig } from '../../src/shared/config';
import { loadEnvironment } from '../../src/shared/env';
import { crashAttemptLimit } from '../../src/worker/policy';
import { BASE_ENV, configError } from '../helpers/config-env';

const BASE = BASE_ENV;

describe('worker configuration', () => {
  it('applies every default when only the secrets are set', () => {
    const config = loadWorkerConfig(BASE);
    expect(config.telegram).toMatchObject({
      apiRoot: 'https://api.telegram.org',
      timeoutSeconds: 30,
      sleepSeconds: 1,
      dropPending: true,
      pendingWindowSeconds: 300,
      pendingMaxMessages: 20,
      allowedChatIds: [],
    });
    expect(config.openai.baseUrl).toBe('https://api.openai.com/v1');
    expect(config.openai.timeoutSeconds).toBe(120);
    expect(config.worker).toMatchObject({
      maxAttempts: 5,
      concurrency: 1,
      suicideEvery: 0,
      testTriggers: false,
    });
    expect(config.dbPath).toBe(path.resolve('/srv/autonous/state/agent.db'));
    expect(Object.isFrozen(config.telegram)).toBe(true);
  });

  it.each([
    ['TELEGRAM_BOT_TOKEN', { OPENAI_API_KEY: BASE.OPENAI_API_KEY }],
    ['OPENAI_API_KEY', { TELEGRAM_BOT_TOKEN: BASE.TELEGRAM_BOT_TOKEN }],
    ['TELEGRAM_BOT_TOKEN', { ...BASE, TELEGRAM_BOT_TOKEN: 'not a token' }],
    ['TG_TIMEOUT', { ...BASE, TG_TIMEOUT: 'soon' }],
    ['TG_DROP_PENDING', { ...BASE, TG_DROP_PENDING: 'maybe' }],
    ['TG_ALLOWED_CHAT_IDS', { ...BASE, TG_ALLOWED_CHAT_IDS: '12,abc' }],
    ['WORKER_CONCURRENCY', { ...BASE, WORKER_CONCURRENCY: '0' }],
    ['OPENAI_CHAT_COMPLETIONS_URL', { ...BASE, OPENAI_CHAT_COMPLETIONS_URL: 'https://api.openai.com/v1' }],
    ['TELEGRAM_API_ROOT', { ...BASE, TELEGRAM_API_ROOT: 'ftp://example' }],
    ['WORKER_RETRY_MAX_SECONDS', { ...BASE, WORKER_RETRY_BASE_SECONDS: '10', WORKER_RETRY_MAX_SECONDS: '5' }],
  ])('names %s in one sentence when it is missing or malformed', (variable, env) => {
    const err = configError(env);
    expect(err.variable).toBe(variable);
    expect(err.message).toContain(variable);
    expect(err.message.trim().endsWith('.')).toBe(true);
  });

  it('never echoes a malformed secret back', () => {
    const err = configError({ ...BASE, OPENAI_API_KEY: 'sk-secret value' });
    expect(err.message).not.toContain('sk-secret');
  });

  it('parses chat ids, negative group ids included', () => {
    const config = loadWorkerConfig({ ...BASE, TG_ALLOWED_CHAT_IDS: ' 12, -100987 ,' });
    expect(config.telegram.allowedChatIds).toEqual([12, -100987]);
  });

  it('dead-letters a message that kills the worker before its crashes look like a crash loop', () => {
    expect(crashAttemptLimit(loadWorkerConfig(BASE))).toBe(4);
    expect(crashAttemptLimit(loadWorkerConfig({ ...BASE, WORKER_MAX_ATTEMPTS: '3' }))).toBe(3);
    expect(crashAttemptLimit(loadWorkerConfig({ ...BASE, SUPERVISOR_CRASH_LOOP_RESTARTS: '10' }))).toBe(5);
    expect(crashAttemptLimit(loadWorkerConfig({ ...BASE, SUPERVISOR_CRASH_LOOP_RESTARTS: '1' }))).toBe(1);
  });

  it.each([
    ['auto', 'https://api.openai.com/v1/chat/completions', true],
    ['auto', 'http://127.0.0.1:9/v1/chat/completions', false],
    ['auto', 'https://api.openai.com.example/v1/chat/completions', false],
    ['on', 'http://127.0.0.1:9/v1/chat/completions', true],
    ['off', 'https://api.openai.com/v1/chat/completions', false],
  ])('OPENAI_PROMPT_CACHE_KEY=%s sends prompt_cache_key to %s: %s', (choice, url, sends) => {
    const config = loadWorkerConfig({
      ...BASE,
      OPENAI_PROMPT_CACHE_KEY: choice,
      OPENAI_CHAT_COMPLETIONS_URL: url,
    });
    expect(config.openai.promptCacheKey).toBe(sends);
  });

  it('sends prompt_cache_key by default to the default server (OpenAI)', () => {
    expect(loadWorkerConfig(BASE).openai.promptCacheKey).toBe(true);
  });

  it('takes the SDK base URL from the full chat-completions URL', () => {
    const config = loadWorkerConfig({
      ...BASE,
      OPENAI_CHAT_COMPLETIONS_URL: 'http://127.0.0.1:9/v1/chat/completions',
    });
    expect(config.openai.baseUrl).toBe('http://127.0.0.1:9/v1');
  });
});

describe('env file', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-env-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fills what the environment leaves unset, and nothing else', () => {
    const file = path.join(dir, '.env');
    fs.writeFileSync(
      file,
      'OPENAI_API_KEY=sk-from-file-0123456789\nTG_TIMEOUT=5\n# comment\nOPENAI_MODEL="gpt-x"\n',
    );
    const env = loadEnvironment({ AUTONOUS_ENV_FILE: file, TG_TIMEOUT: '7' });
    expect(env.OPENAI_API_KEY).toBe('sk-from-file-0123456789');
    expect(env.TG_TIMEOUT).toBe('7');
    expect(env.OPENAI_MODEL).toBe('gpt-x');
  });

  it('lets a caller refuse names from the file (the supervisor never reads secrets)', () => {
    const file = path.join(dir, '.env');
    fs.writeFileSync(file, 'OPENAI_API_KEY=sk-from-file-0123456789\nTG_DB_PATH=/x.db\n');
    const env = loadEnvironment({ AUTONOUS_ENV_FILE: file }, (name) => name === 'TG_DB_PATH');
    expect(env.OPENAI_API_KEY).toBeUndefined();
    expect(env.TG_DB_PATH).toBe('/x.db');
  });

  it('fails with AUTONOUS_ENV_FILE named when the file given cannot be read', () => {
    expect(() => loadEnvironment({ AUTONOUS_ENV_FILE: path.join(dir, 'missing') })).toThrow(
      /AUTONOUS_ENV_FILE/,
    );
  });
});

describe('agent configuration', () => {
  it('defaults: runs on, 30 steps, 1800 s, 2000000 tokens, the window from the table, steering, workspaces beside the database, auto sandbox, on-risk', () => {
    const config = loadWorkerConfig({ ...BASE, TG_DB_PATH: '/var/lib/autonous/agent.db' });
    expect(config.agent).toMatchObject({
      tools: true,
      maxSteps: 30,
      maxRunSeconds: 1800,
      maxRunTokens: 2_000_000,
      contextTokens: 0,
      busy: 'steer',
      workspaces: '/var/lib/autonous/workspaces',
      sandbox: 'auto',
      approval: 'on-risk',
      approvalTimeoutSeconds: 1800,
    });
  });

  it('takes a relative AGENT_WORKSPACES from the project folder, and AGENT_TOOLS=off', () => {
    const config = loadWorkerConfig({ ...BASE, AGENT_WORKSPACES: 'ws', AGENT_TOOLS: 'off' });
    expect(config.agent.workspaces).toBe('/srv/autonous/ws');
    expect(config.agent.tools).toBe(false);
  });

  it.each([
    ['AGENT_TOOLS', 'yes'],
    ['AGENT_SANDBOX', 'docker'],
    ['AGENT_APPROVAL', 'sometimes'],
    ['AGENT_MAX_STEPS', '0'],
    ['AGENT_MAX_RUN_TOKENS', 'many'],
    ['AGENT_CONTEXT_TOKENS', '-1'],
    ['AGENT_BUSY', 'wait'],
    ['OPENAI_PROMPT_CACHE_KEY', 'yes'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    expect(configError({ ...BASE, [name]: value }).variable).toBe(name);
  });
});
