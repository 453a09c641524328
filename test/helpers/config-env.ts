/** The smallest valid worker environment, and a way to get the ConfigError a bad one raises. */
import { loadWorkerConfig } from '../../src/shared/config';
import { ConfigError } from '../../src/shared/env';

/** The variables every worker needs, valid. */
export const BASE_ENV = {
  TELEGRAM_BOT_TOKEN: '123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678',
  OPENAI_API_KEY: 'sk-test-0123456789abcdef',
  AUTONOUS_HOME: '/srv/autonous',
};

/** The ConfigError `env` makes loadWorkerConfig throw; fails the test when there is none. */
export function configError(env: Record<string, string>): ConfigError {
  try {
    loadWorkerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
