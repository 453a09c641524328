import { Api, NetworkError, ParseError, TelegramApiError, TimeoutError } from 'node-telegram-bot-api';
import { redact } from '../shared/redact';
import type { TgUpdate } from './classify-update';
import { causeChain, EdgeError } from './errors';

/** What a send needs besides the text. */
export interface SendOptions {
  readonly html: boolean;
  readonly replyTo?: number | null;
}

/** Telegram refused the formatting of a message (parse_mode); the plain text may still go. */
export const PARSE_ENTITIES = 'parse_entities';

/**
 * The Bot API as the worker uses it, every failure classified into an `EdgeError`. The library's
 * own retries are off: the queue decides what is retried, and when.
 */
export class TelegramClient {
  private readonly api: Api;

  constructor(token: string, apiRoot: string, requestTimeoutMs = 30_000) {
    this.api = new Api(token, { apiRoot, maxRetries: 0, timeoutMs: requestTimeoutMs });
  }

  /** Long-polls for updates after `offset` (undefined: from the oldest pending). */
  async getUpdates(
    offset: number | undefined,
    timeoutSeconds: number,
    signal?: AbortSignal,
  ): Promise<TgUpdate[]> {
    try {
      const updates = await this.api.getUpdates({ offset, timeout: timeoutSeconds, limit: 100 }, signal);
      return updates as unknown as TgUpdate[];
    } catch (err) {
      throw classifyTelegramError(err, 'getUpdates');
    }
  }

  /** Sends one message; returns Telegram's message id. */
  async sendMessage(
    chatId: number,
    text: string,
    options: SendOptions,
    signal?: AbortSignal,
  ): Promise<number> {
    try {
      const sent = await this.api.sendMessage(
        {
          chat_id: chatId,
          text,
          ...(options.html ? { parse_mode: 'HTML' as const } : {}),
          ...(options.replyTo
            ? { reply_parameters: { message_id: options.replyTo, allow_sending_without_reply: true } }
            : {}),
          link_preview_options: { is_disabled: true },
        },
        signal,
      );
      return sent.message_id;
    } catch (err) {
      throw classifyTelegramError(err, 'sendMessage');
    }
  }

  /** Shows "typing…" in the chat; failures do not matter and are swallowed. */
  async sendTyping(chatId: number): Promise<void> {
    try {
      await this.api.sendChatAction({ chat_id: chatId, action: 'typing' });
    } catch {
      // a missing typing indicator is not worth a retry or a log line
    }
  }

  /** The bot's own user (doctor's check that the token works). */
  async getMe(): Promise<{ id: number; username?: string }> {
    try {
      return await this.api.getMe();
    } catch (err) {
      throw classifyTelegramError(err, 'getMe');
    }
  }
}

/** Maps any failure of a Bot API call to transient / permanent / fatal. */
export function classifyTelegramError(err: unknown, method: string): EdgeError {
  if (err instanceof EdgeError) return err;
  if (err instanceof TelegramApiError) {
    const code = err.errorCode;
    const what = `Telegram ${method} failed: ${code} ${redact(err.description)}`;
    if (code === 401 || (code === 404 && method !== 'sendMessage')) {
      return new EdgeError(
        'fatal',
        'telegram',
        String(code),
        `Telegram rejected the bot token (${code} ${redact(err.description)}): set TELEGRAM_BOT_TOKEN to the token @BotFather gave you.`,
      );
    }
    if (code === 429) {
      const after = err.retryAfter;
      return new EdgeError(
        'transient',
        'telegram',
        '429',
        what,
        after === undefined ? undefined : after * 1000,
      );
    }
    if (
      code === 400 &&
      /can't parse entities|can't find end|unsupported start tag|entity/i.test(err.description)
    ) {
      return new EdgeError('permanent', 'telegram', PARSE_ENTITIES, what);
    }
    if (code >= 500 || code === 409) return new EdgeError('transient', 'telegram', String(code), what);
    // 400 (chat not found, message too long, ...), 403 (blocked, kicked): retrying cannot help
    return new EdgeError('permanent', 'telegram', String(code), what);
  }
  if (err instanceof TimeoutError) {
    return new EdgeError('transient', 'telegram', 'timeout', `Telegram ${method} timed out.`);
  }
  if (err instanceof NetworkError || err instanceof ParseError) {
    return new EdgeError(
      'transient',
      'telegram',
      'network',
      redact(`Telegram ${method} failed: ${causeChain(err)}`),
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new EdgeError('transient', 'telegram', 'unknown', redact(`Telegram ${method} failed: ${message}`));
}
