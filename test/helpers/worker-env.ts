import type { FakeOpenAI } from './fake-openai';
import type { FakeTelegram } from './fake-telegram';

/** A test API key: shaped like a real one, so redaction is tested against the real pattern. */
export const TEST_API_KEY = 'sk-test-autonous-0123456789abcdefABCDEF';

/** The environment a worker needs to talk to the fakes and a temp database. */
export function workerEnv(
  telegram: FakeTelegram,
  openai: FakeOpenAI,
  dbPath: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_API_ROOT: telegram.url,
    OPENAI_API_KEY: TEST_API_KEY,
    OPENAI_CHAT_COMPLETIONS_URL: openai.chatCompletionsUrl,
    TG_DB_PATH: dbPath,
    TG_TIMEOUT: '2',
    TG_SLEEP_SECONDS: '0.2',
    TG_ALLOWED_CHAT_IDS: '101,102,103',
    WORKER_RETRY_BASE_SECONDS: '0.2',
    WORKER_RETRY_MAX_SECONDS: '2',
    AUTONOUS_ENV_FILE: '/dev/null',
    ...extra,
  };
}
