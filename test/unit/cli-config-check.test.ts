import { collectConfigErrors, configCheck } from '../../src/cli/checks/config';

const VALID = {
  TELEGRAM_BOT_TOKEN: '123456789:AAFakeTokenForTests_abcdefghijklmnop',
  OPENAI_API_KEY: 'sk-test-0123456789abcdef',
  TG_DB_PATH: '/tmp/x.db',
};

describe('collectConfigErrors', () => {
  it('accepts a valid configuration', () => {
    const report = collectConfigErrors(VALID);
    expect(report.errors).toEqual([]);
    expect(report.config?.telegram.token).toBe(VALID.TELEGRAM_BOT_TOKEN);
    expect(configCheck(report).status).toBe('ok');
  });

  it('names every missing or malformed variable, not only the first', () => {
    const report = collectConfigErrors({
      TG_TIMEOUT: 'soon',
      WORKER_MAX_ATTEMPTS: '0',
      TG_DB_PATH: '/tmp/x.db',
    });
    expect(report.errors.map((e) => e.variable).sort()).toEqual(
      ['OPENAI_API_KEY', 'TELEGRAM_BOT_TOKEN', 'TG_TIMEOUT', 'WORKER_MAX_ATTEMPTS'].sort(),
    );
    const check = configCheck(report);
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('TG_TIMEOUT');
    expect(check.fix).toContain('TELEGRAM_BOT_TOKEN is not set');
  });

  it('keeps the variables that are fine usable, and marks the bad ones', () => {
    const report = collectConfigErrors({ ...VALID, OPENAI_API_KEY: undefined });
    expect([...report.invalid]).toEqual(['OPENAI_API_KEY']);
    expect(report.config?.telegram.token).toBe(VALID.TELEGRAM_BOT_TOKEN);
  });

  it('stops when a variable stays wrong even at its default', () => {
    const report = collectConfigErrors({ ...VALID, WORKER_RETRY_BASE_SECONDS: '5000' });
    expect(report.errors.map((e) => e.variable)).toEqual(['WORKER_RETRY_MAX_SECONDS']);
    expect(report.config).toBeNull();
  });
});
