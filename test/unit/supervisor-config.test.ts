import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadEnvironment } from '../../src/shared/env';
import { loadSupervisorConfig, supervisorAccepts } from '../../src/supervisor-hooks/config';
import { dropSecrets, shouldScrubPm2Env } from '../../src/supervisor-hooks/secrets';

describe('supervisor configuration', () => {
  it('has the documented defaults', () => {
    const config = loadSupervisorConfig({ AUTONOUS_HOME: '/srv/autonous' });
    expect(config).toMatchObject({
      crashLoopRestarts: 5,
      crashLoopWindowMs: 300_000,
      minUptimeMs: 60_000,
      promoteAfterMs: 120_000,
      heartbeatTimeoutMs: 90_000,
      readyTimeoutMs: 60_000,
      keepRevisions: 5,
      home: '/srv/autonous',
      dbPath: '/srv/autonous/state/agent.db',
      releasesDir: '/srv/autonous/state/releases',
    });
  });

  it('puts the releases beside the database', () => {
    const config = loadSupervisorConfig({ AUTONOUS_HOME: '/srv/a', TG_DB_PATH: '/var/lib/bot/agent.db' });
    expect(config.releasesDir).toBe('/var/lib/bot/releases');
  });

  it.each([
    ['SUPERVISOR_CRASH_LOOP_RESTARTS', '0'],
    ['SUPERVISOR_CRASH_LOOP_RESTARTS', 'five'],
    ['SUPERVISOR_CRASH_LOOP_WINDOW_SECONDS', '0'],
    ['SUPERVISOR_MIN_UPTIME_SECONDS', '-1'],
    ['SUPERVISOR_PROMOTE_AFTER_SECONDS', '1.5'],
    ['SUPERVISOR_HEARTBEAT_TIMEOUT_SECONDS', '9999999'],
    ['SUPERVISOR_KEEP_REVISIONS', '0'],
    ['SUPERVISOR_READY_SECONDS', '0'],
  ])('names %s when it is %p', (name, value) => {
    let error: unknown;
    try {
      loadSupervisorConfig({ [name]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(name);
    expect((error as ConfigError).message).toMatch(new RegExp(`^${name} must be`));
  });

  it('accepts 0 to turn the watchdog off and to promote at once', () => {
    const config = loadSupervisorConfig({
      SUPERVISOR_HEARTBEAT_TIMEOUT_SECONDS: '0',
      SUPERVISOR_PROMOTE_AFTER_SECONDS: '0',
    });
    expect(config.heartbeatTimeoutMs).toBe(0);
    expect(config.promoteAfterMs).toBe(0);
  });

  it('takes only its own names from the env file, never the secrets', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-test-'));
    const file = path.join(dir, '.env');
    fs.writeFileSync(
      file,
      'TELEGRAM_BOT_TOKEN=123456:abcdefghijklmnopqrstuvwxyz\nOPENAI_API_KEY=sk-abcdefghijklmnop\nTG_DB_PATH=/x/agent.db\nSUPERVISOR_CRASH_LOOP_RESTARTS=7\nTG_ALLOWED_CHAT_IDS=1\n',
    );
    try {
      const env = loadEnvironment({ AUTONOUS_ENV_FILE: file }, supervisorAccepts);
      expect(env.TELEGRAM_BOT_TOKEN).toBeUndefined();
      expect(env.OPENAI_API_KEY).toBeUndefined();
      expect(env.TG_ALLOWED_CHAT_IDS).toBeUndefined();
      expect(loadSupervisorConfig(env)).toMatchObject({ crashLoopRestarts: 7, dbPath: '/x/agent.db' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('drops secrets that reached its environment anyway, and says which', () => {
    const env: NodeJS.ProcessEnv = { TELEGRAM_BOT_TOKEN: 'x', OPENAI_API_KEY: 'y', PATH: '/bin' };
    expect(dropSecrets(env).sort()).toEqual(['OPENAI_API_KEY', 'TELEGRAM_BOT_TOKEN']);
    expect(env).toEqual({ PATH: '/bin' });
  });

  it('takes blanked secrets for what they are: nothing to report', () => {
    const env: NodeJS.ProcessEnv = { TELEGRAM_BOT_TOKEN: '', OPENAI_API_KEY: '', PATH: '/bin' };
    expect(dropSecrets(env)).toEqual([]);
    expect(env).toEqual({ PATH: '/bin' });
  });

  it('asks PM2 to forget leaked secrets only under PM2, as itself, and not twice in a row', () => {
    const underPm2 = { pm_id: '1', name: 'autonous-supervisor' };
    expect(shouldScrubPm2Env(['OPENAI_API_KEY'], underPm2, 'autonous-supervisor', false)).toBe(true);
    expect(shouldScrubPm2Env([], underPm2, 'autonous-supervisor', false)).toBe(false);
    expect(shouldScrubPm2Env(['OPENAI_API_KEY'], {}, 'autonous-supervisor', false)).toBe(false);
    expect(
      shouldScrubPm2Env(['OPENAI_API_KEY'], { pm_id: '3', name: 'other' }, 'autonous-supervisor', false),
    ).toBe(false);
    expect(shouldScrubPm2Env(['OPENAI_API_KEY'], underPm2, 'autonous-supervisor', true)).toBe(false);
  });
});
