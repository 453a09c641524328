import { appFromDescription, eventFromBus } from '../../src/shared/pm2/apps';

// What PM2 really sends: pm2_env carries the app's environment, flattened in and under `env`.
const pm2Env = {
  name: 'autonous-worker',
  status: 'stopped',
  pm_uptime: 1_700_000_000_000,
  restart_time: 3,
  pm_exec_path: '/srv/state/releases/current/dist/worker/main.js',
  exit_code: 1,
  TELEGRAM_BOT_TOKEN: '123456:secret-token-secret-token-secret',
  OPENAI_API_KEY: 'sk-secret-secret-secret',
  env: { TELEGRAM_BOT_TOKEN: '123456:secret-token-secret-token-secret' },
};

describe('PM2 payloads', () => {
  it('keeps only the fields the supervisor uses from a bus event, none of the environment', () => {
    const event = eventFromBus({ event: 'exit', manually: false, at: 1_700_000_001_000, process: pm2Env }, 0);
    expect(event).toEqual({
      event: 'exit',
      manual: false,
      at: 1_700_000_001_000,
      app: {
        name: 'autonous-worker',
        status: 'stopped',
        pid: 0,
        startedAt: 1_700_000_000_000,
        restarts: 3,
        execPath: '/srv/state/releases/current/dist/worker/main.js',
        exitCode: 1,
      },
    });
    expect(JSON.stringify(event)).not.toMatch(/secret/);
  });

  it('keeps only the fields the supervisor uses from a list entry', () => {
    const app = appFromDescription({ name: 'autonous-worker', pid: 4242, pm2_env: pm2Env });
    expect(app.pid).toBe(4242);
    expect(JSON.stringify(app)).not.toMatch(/secret/);
  });

  it('tolerates missing fields', () => {
    expect(eventFromBus({}, 5)).toEqual({
      event: 'unknown',
      manual: false,
      at: 5,
      app: { name: '?', status: 'unknown', pid: 0, startedAt: 0, restarts: 0, execPath: '', exitCode: null },
    });
  });
});
