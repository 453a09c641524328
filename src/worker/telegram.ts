import fs from 'node:fs';
import nodePath from 'node:path';
import {
  Api,
  InputFile,
  NetworkError,
  ParseError,
  TelegramApiError,
  TimeoutError,
  type InlineKeyboardButton,
  type InlineKeyboardMarkup,
} from 'node-telegram-bot-api';
import { redact } from '../shared/redact';
import type { TgUpdate } from './classify-update';
import { causeChain, EdgeError } from './errors';

/** One inline button: it either sends `callbackData` back (a `callback_query`) or opens `url`. */
export type InlineButton =
  { readonly text: string; readonly callbackData: string } | { readonly text: string; readonly url: string };

/** Rows of inline buttons under a message (`reply_markup.inline_keyboard`). */
export type InlineKeyboard = readonly (readonly InlineButton[])[];

/** What a send needs besides the text. */
export interface SendOptions {
  readonly html: boolean;
  readonly replyTo?: number | null;
  /** Inline buttons under the message. */
  readonly keyboard?: InlineKeyboard;
}

/** What an edit needs besides the text. */
export interface EditOptions {
  readonly html?: boolean;
  /** The buttons after the edit; omitted or empty, the message is left without buttons (as Telegram does). */
  readonly keyboard?: InlineKeyboard;
  readonly signal?: AbortSignal;
}

/** What a draft needs besides the text. */
export interface DraftOptions {
  readonly html?: boolean;
  readonly signal?: AbortSignal;
}

/** A file to upload: from disk, or bytes in memory with the name the chat shows. */
export type DocumentSource =
  | { readonly path: string; readonly filename?: string }
  | { readonly buffer: Uint8Array; readonly filename: string };

/** A command of the bot's menu (`setMyCommands`), without the leading slash. */
export interface BotCommandSpec {
  readonly command: string;
  readonly description: string;
}

/** Telegram refused the formatting of a message (parse_mode); the plain text may still go. */
export const PARSE_ENTITIES = 'parse_entities';
/** Telegram does not offer drafts to this bot or chat (unknown method, TEXTDRAFT_PEER_INVALID): stop drafting. */
export const DRAFTS_UNSUPPORTED = 'drafts_unsupported';
/** A callback query answered too late or twice: nothing to retry, the press itself still counts. */
export const QUERY_TOO_OLD = 'query_too_old';
/** An edit that would change nothing; `editMessageText` treats it as success. */
export const MESSAGE_NOT_MODIFIED = 'message_not_modified';
/** A file over Telegram's upload limit, refused before sending. */
export const FILE_TOO_BIG = 'file_too_big';
/** A button whose callback_data Telegram would refuse (over 64 bytes, or empty), refused before sending. */
export const BUTTON_DATA_INVALID = 'button_data_invalid';

/** Telegram's limit for a file a bot uploads (sendDocument): 50 MB. */
export const TELEGRAM_UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024;
/** Telegram's limit for a button's callback_data, in UTF-8 bytes. */
export const CALLBACK_DATA_LIMIT_BYTES = 64;

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
    const markup = options.keyboard ? inlineMarkup(options.keyboard) : undefined;
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
          ...(markup ? { reply_markup: markup } : {}),
        },
        signal,
      );
      return sent.message_id;
    } catch (err) {
      throw classifyTelegramError(err, 'sendMessage');
    }
  }

  /**
   * Shows the growing text of an answer as an ephemeral draft in a private chat (Bot API 9.3+);
   * drafts with the same non-zero `draftId` replace each other. A bot or chat without drafts fails
   * with code `DRAFTS_UNSUPPORTED`.
   */
  async sendMessageDraft(
    chatId: number,
    draftId: number,
    text: string,
    options: DraftOptions = {},
  ): Promise<void> {
    try {
      await this.api.sendMessageDraft(
        {
          chat_id: chatId,
          draft_id: draftId,
          text,
          ...(options.html ? { parse_mode: 'HTML' as const } : {}),
        },
        options.signal,
      );
    } catch (err) {
      throw classifyTelegramError(err, 'sendMessageDraft');
    }
  }

  /** Answers a button press, so the client stops its spinner; `text` shows as a toast (or an alert). */
  async answerCallbackQuery(
    callbackQueryId: string,
    text?: string,
    showAlert = false,
    signal?: AbortSignal,
  ): Promise<void> {
    try {
      await this.api.answerCallbackQuery(
        {
          callback_query_id: callbackQueryId,
          ...(text !== undefined ? { text } : {}),
          ...(showAlert ? { show_alert: true } : {}),
        },
        signal,
      );
    } catch (err) {
      throw classifyTelegramError(err, 'answerCallbackQuery');
    }
  }

  /**
   * Replaces the text (and buttons) of a message the bot sent. Returns false when Telegram found
   * nothing to change ("message is not modified"), which is not a failure.
   */
  async editMessageText(
    chatId: number,
    messageId: number,
    text: string,
    options: EditOptions = {},
  ): Promise<boolean> {
    const markup = inlineMarkup(options.keyboard ?? []);
    try {
      await this.api.editMessageText(
        {
          chat_id: chatId,
          message_id: messageId,
          text,
          ...(options.html ? { parse_mode: 'HTML' as const } : {}),
          link_preview_options: { is_disabled: true },
          ...(markup.inline_keyboard.length > 0 ? { reply_markup: markup } : {}),
        },
        options.signal,
      );
      return true;
    } catch (err) {
      const classified = classifyTelegramError(err, 'editMessageText');
      if (classified.code === MESSAGE_NOT_MODIFIED) return false;
      throw classified;
    }
  }

  /**
   * Uploads a file to the chat as a document (multipart); returns the message id. A file over
   * Telegram's 50 MB limit fails with code `FILE_TOO_BIG` before anything is sent.
   */
  async sendDocument(
    chatId: number,
    source: DocumentSource,
    caption?: string,
    replyTo?: number | null,
    signal?: AbortSignal,
  ): Promise<number> {
    const document = await inputFile(source);
    try {
      const sent = await this.api.sendDocument(
        {
          chat_id: chatId,
          document,
          ...(caption ? { caption } : {}),
          ...(replyTo
            ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } }
            : {}),
        },
        signal,
      );
      return sent.message_id;
    } catch (err) {
      throw classifyTelegramError(err, 'sendDocument');
    }
  }

  /** Sets the command menu every chat shows (`/` in the client). */
  async setMyCommands(commands: readonly BotCommandSpec[], signal?: AbortSignal): Promise<void> {
    try {
      await this.api.setMyCommands(
        { commands: commands.map((c) => ({ command: c.command, description: c.description })) },
        signal,
      );
    } catch (err) {
      throw classifyTelegramError(err, 'setMyCommands');
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

/**
 * The Bot API form of a keyboard. Throws `BUTTON_DATA_INVALID` (permanent) for callback_data that
 * Telegram would refuse, so the mistake is named here rather than as "BUTTON_DATA_INVALID" later.
 */
export function inlineMarkup(keyboard: InlineKeyboard): InlineKeyboardMarkup {
  const rows = keyboard.map((row) =>
    row.map((button): InlineKeyboardButton => {
      if ('url' in button) return { text: button.text, url: button.url };
      const bytes = Buffer.byteLength(button.callbackData, 'utf8');
      if (bytes === 0 || bytes > CALLBACK_DATA_LIMIT_BYTES) {
        throw new EdgeError(
          'permanent',
          'telegram',
          BUTTON_DATA_INVALID,
          `The button "${button.text}" carries ${bytes} bytes of callback_data; Telegram takes 1 to ${CALLBACK_DATA_LIMIT_BYTES}: put an id in it, not the payload.`,
        );
      }
      return { text: button.text, callback_data: button.callbackData };
    }),
  );
  return { inline_keyboard: rows.filter((row) => row.length > 0) };
}

async function inputFile(source: DocumentSource): Promise<InputFile> {
  const tooBig = (size: number, what: string): EdgeError =>
    new EdgeError(
      'permanent',
      'telegram',
      FILE_TOO_BIG,
      `${what} is ${(size / 1024 / 1024).toFixed(1)} MB; Telegram takes files up to 50 MB from a bot.`,
    );
  if ('buffer' in source) {
    if (source.buffer.byteLength > TELEGRAM_UPLOAD_LIMIT_BYTES)
      throw tooBig(source.buffer.byteLength, `The file ${source.filename}`);
    return new InputFile(source.buffer, { filename: source.filename });
  }
  const filename = source.filename ?? nodePath.basename(source.path);
  let size: number;
  try {
    const stat = await fs.promises.stat(source.path);
    if (!stat.isFile()) throw new Error('not a regular file');
    size = stat.size;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new EdgeError('permanent', 'telegram', 'file_unreadable', `Cannot read ${filename}: ${reason}.`);
  }
  if (size > TELEGRAM_UPLOAD_LIMIT_BYTES) throw tooBig(size, `The file ${filename}`);
  // A disk-backed Blob streams into the upload: memory stays flat for a 50 MB file.
  return new InputFile(await fs.openAsBlob(source.path), { filename });
}

/** Maps any failure of a Bot API call to transient / permanent / fatal. */
export function classifyTelegramError(err: unknown, method: string): EdgeError {
  if (err instanceof EdgeError) return err;
  if (err instanceof TelegramApiError) {
    const code = err.errorCode;
    const what = `Telegram ${method} failed: ${code} ${redact(err.description)}`;
    // Drafts are new (Bot API 9.3) and private-chat only: an old server answers 404 for the
    // method, a chat without drafts TEXTDRAFT_PEER_INVALID. Neither says the token is wrong.
    if (
      method === 'sendMessageDraft' &&
      (code === 404 || (code === 400 && /draft|method/i.test(err.description)))
    ) {
      return new EdgeError('permanent', 'telegram', DRAFTS_UNSUPPORTED, what);
    }
    if (code === 400 && /message is not modified/i.test(err.description)) {
      return new EdgeError('permanent', 'telegram', MESSAGE_NOT_MODIFIED, what);
    }
    if (code === 400 && /query is too old|query id is invalid/i.test(err.description)) {
      return new EdgeError('permanent', 'telegram', QUERY_TOO_OLD, what);
    }
    if (code === 413 || (code === 400 && /file is too big/i.test(err.description))) {
      return new EdgeError('permanent', 'telegram', FILE_TOO_BIG, what);
    }
    if (code === 400 && /BUTTON_DATA_INVALID/.test(err.description)) {
      return new EdgeError('permanent', 'telegram', BUTTON_DATA_INVALID, what);
    }
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
