import { type CheckResult, fail, messageOf, ok } from './check';

const NAME = 'telegram';

/** `getMe` through `TELEGRAM_API_ROOT`, no retries, 5 s: the Telegram check line. */
export async function checkTelegram(token: string, apiRoot: string, timeoutMs = 5000): Promise<CheckResult> {
  const { Api, TelegramApiError } = await import('node-telegram-bot-api');
  const api = new Api(token, { apiRoot, maxRetries: 0, timeoutMs });
  try {
    const me = await api.getMe();
    return ok(NAME, `getMe answered: @${me.username ?? me.first_name} via ${apiRoot}`);
  } catch (err) {
    if (err instanceof TelegramApiError) {
      if (err.errorCode === 401 || err.errorCode === 404) {
        return fail(
          NAME,
          `Telegram refused the bot token (${err.errorCode} ${err.description})`,
          'Set TELEGRAM_BOT_TOKEN to the token @BotFather gave you (/token in @BotFather shows it).',
        );
      }
      return fail(
        NAME,
        `getMe failed: Telegram answered ${err.errorCode} ${err.description}`,
        'Try again later; if it persists, check TELEGRAM_API_ROOT.',
      );
    }
    return fail(
      NAME,
      `cannot reach Telegram at ${apiRoot}: ${messageOf(err)}`,
      'Check the network, or TELEGRAM_API_ROOT if you run a local Bot API server.',
    );
  }
}
