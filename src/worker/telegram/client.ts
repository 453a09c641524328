// The Bot API as the worker uses it. Every method goes through one `call`, which is where the
// abort signal reaches the request and where every failure is classified (see failures.ts);
// the methods only shape their payload and their result.

import {
  Api,
  type AnswerCallbackQueryParams,
  type AnswerCallbackQueryResult,
  type EditMessageTextParams,
  type EditMessageTextResult,
  type GetFileParams,
  type GetFileResult,
  type GetMeResult,
  type GetUpdatesParams,
  type GetUpdatesResult,
  type SendChatActionParams,
  type SendChatActionResult,
  type SendDocumentParams,
  type SendDocumentResult,
  type SendMessageDraftParams,
  type SendMessageDraftResult,
  type SendMessageParams,
  type SendMessageResult,
  type SendPhotoParams,
  type SendPhotoResult,
  type SetMyCommandsParams,
  type SetMyCommandsResult,
} from 'node-telegram-bot-api';
import type { TgUpdate } from '../classify-update';
import { classifyTelegramError, FILE_TOO_BIG, isTelegramFailure, TelegramError } from './failures';
import { downloadFile, type FileServer } from './files';
import { inlineMarkup, type InlineKeyboard } from './keyboards';
import { inputFile, type DocumentSource } from './uploads';
import { topicThread } from './topic';

/** Telegram's limit for a photo a bot sends (sendPhoto): 10 MB; a larger image goes as a document. */
export const TELEGRAM_PHOTO_LIMIT_BYTES = 10 * 1024 * 1024;

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
}

/** What a draft needs besides the text. */
export interface DraftOptions {
  readonly html?: boolean;
}

/** A command of the bot's menu (`setMyCommands`), without the leading slash. */
export interface BotCommandSpec {
  readonly command: string;
  readonly description: string;
}

/** The Bot API methods the worker calls: what each takes and what it answers. */
interface Methods {
  getUpdates: { payload: GetUpdatesParams; result: GetUpdatesResult };
  sendMessage: { payload: SendMessageParams; result: SendMessageResult };
  sendMessageDraft: { payload: SendMessageDraftParams; result: SendMessageDraftResult };
  answerCallbackQuery: { payload: AnswerCallbackQueryParams; result: AnswerCallbackQueryResult };
  editMessageText: { payload: EditMessageTextParams; result: EditMessageTextResult };
  sendDocument: { payload: SendDocumentParams; result: SendDocumentResult };
  sendPhoto: { payload: SendPhotoParams; result: SendPhotoResult };
  getFile: { payload: GetFileParams; result: GetFileResult };
  setMyCommands: { payload: SetMyCommandsParams; result: SetMyCommandsResult };
  sendChatAction: { payload: SendChatActionParams; result: SendChatActionResult };
  getMe: { payload: undefined; result: GetMeResult };
}

// The methods that post into a chat, and so into the topic of the work in progress
const POSTS: ReadonlySet<string> = new Set([
  'sendMessage',
  'sendMessageDraft',
  'sendChatAction',
  'sendDocument',
  'sendPhoto',
]);

/** The payload with the topic of the work in progress added, for a method that posts to its chat. */
function inTopic<P>(method: string, payload: P): P {
  if (!POSTS.has(method) || payload === undefined || payload === null) return payload;
  const fields = payload as Record<string, unknown>;
  const thread = topicThread(fields.chat_id);
  if (thread === undefined || fields.message_thread_id !== undefined) return payload;
  return { ...fields, message_thread_id: thread } as P;
}

/** A reply to message `replyTo` that still goes when that message is gone (none without one). */
function replyParameters(replyTo: number | null | undefined) {
  return replyTo ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {};
}

function hasReply(payload: unknown): boolean {
  return typeof payload === 'object' && payload !== null && 'reply_parameters' in payload;
}

/** The library's client with its one generic request reachable; its per-method wrappers are not used. */
class BotApi extends Api {
  /** Sends `method` with `payload` (uploads included) and returns Telegram's `result`. */
  send<R>(
    method: string,
    payload: Record<string, unknown> | undefined,
    signal: AbortSignal | undefined,
  ): Promise<R> {
    return this.request<R>(method, payload, signal);
  }
}

/**
 * The Bot API as the worker uses it, every failure a classified `TelegramError`. Each method
 * takes its abort signal as its last parameter. The library's own retries are off: the queue
 * decides what is retried, and when.
 */
export class TelegramClient {
  private readonly api: BotApi;
  /** Downloads bypass the library: its requests are POSTs to methods, a file is a GET of a path. */
  private readonly files: FileServer;

  constructor(token: string, apiRoot: string, requestTimeoutMs = 30_000) {
    this.api = new BotApi(token, { apiRoot, maxRetries: 0, timeoutMs: requestTimeoutMs });
    this.files = { apiRoot, token, timeoutMs: requestTimeoutMs };
  }

  /** Long-polls for updates after `offset` (undefined: from the oldest pending). */
  async getUpdates(
    offset: number | undefined,
    timeoutSeconds: number,
    signal?: AbortSignal,
  ): Promise<TgUpdate[]> {
    const updates = await this.call('getUpdates', { offset, timeout: timeoutSeconds, limit: 100 }, signal);
    return updates as unknown as TgUpdate[];
  }

  /** Sends one message; returns Telegram's message id. */
  async sendMessage(
    chatId: number,
    text: string,
    options: SendOptions,
    signal?: AbortSignal,
  ): Promise<number> {
    const markup = options.keyboard ? inlineMarkup(options.keyboard) : undefined;
    const sent = await this.call(
      'sendMessage',
      {
        chat_id: chatId,
        text,
        ...(options.html ? { parse_mode: 'HTML' as const } : {}),
        ...replyParameters(options.replyTo),
        link_preview_options: { is_disabled: true },
        ...(markup ? { reply_markup: markup } : {}),
      },
      signal,
    );
    return sent.message_id;
  }

  /**
   * Shows the growing text of an answer as an ephemeral draft in a private chat (Bot API 9.3+);
   * drafts with the same non-zero `draftId` replace each other. A bot or chat without drafts fails
   * with the failure `drafts_unsupported`.
   */
  async sendMessageDraft(
    chatId: number,
    draftId: number,
    text: string,
    options: DraftOptions = {},
    signal?: AbortSignal,
  ): Promise<void> {
    await this.call(
      'sendMessageDraft',
      { chat_id: chatId, draft_id: draftId, text, ...(options.html ? { parse_mode: 'HTML' as const } : {}) },
      signal,
    );
  }

  /** Answers a button press, so the client stops its spinner; `text` shows as a toast (or an alert). */
  async answerCallbackQuery(
    callbackQueryId: string,
    text?: string,
    showAlert = false,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.call(
      'answerCallbackQuery',
      {
        callback_query_id: callbackQueryId,
        ...(text !== undefined ? { text } : {}),
        ...(showAlert ? { show_alert: true } : {}),
      },
      signal,
    );
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
    signal?: AbortSignal,
  ): Promise<boolean> {
    const markup = inlineMarkup(options.keyboard ?? []);
    try {
      await this.call(
        'editMessageText',
        {
          chat_id: chatId,
          message_id: messageId,
          text,
          ...(options.html ? { parse_mode: 'HTML' as const } : {}),
          link_preview_options: { is_disabled: true },
          ...(markup.inline_keyboard.length > 0 ? { reply_markup: markup } : {}),
        },
        signal,
      );
      return true;
    } catch (err) {
      if (isTelegramFailure(err, 'message_not_modified')) return false;
      throw err;
    }
  }

  /**
   * Uploads a file to the chat as a document (multipart); returns the message id. A file over
   * Telegram's 50 MB limit fails with the failure `file_too_big` before anything is sent.
   */
  async sendDocument(
    chatId: number,
    source: DocumentSource,
    caption?: string,
    replyTo?: number | null,
    signal?: AbortSignal,
  ): Promise<number> {
    const document = await inputFile(source);
    const sent = await this.call(
      'sendDocument',
      {
        chat_id: chatId,
        document,
        ...(caption ? { caption } : {}),
        ...replyParameters(replyTo),
      },
      signal,
    );
    return sent.message_id;
  }

  /**
   * Uploads an image to the chat as a photo (multipart); returns the message id. An image over
   * Telegram's 10 MB photo limit fails with the failure `file_too_big` before anything is sent;
   * one Telegram will not make a photo of fails with `photo_refused`.
   */
  async sendPhoto(
    chatId: number,
    source: DocumentSource,
    caption?: string,
    replyTo?: number | null,
    signal?: AbortSignal,
  ): Promise<number> {
    const photo = await inputFile(source);
    // inputFile gives a disk-backed Blob for a path and keeps the bytes of a buffer
    const { data } = photo;
    const size = data instanceof Blob ? data.size : data instanceof Uint8Array ? data.byteLength : 0;
    if (size > TELEGRAM_PHOTO_LIMIT_BYTES) {
      throw new TelegramError(
        FILE_TOO_BIG,
        'permanent',
        FILE_TOO_BIG,
        `The image ${photo.meta?.filename ?? 'to send'} is ${(size / 1024 / 1024).toFixed(1)} MB; Telegram takes photos up to 10 MB, so send it as a document.`,
      );
    }
    const sent = await this.call(
      'sendPhoto',
      {
        chat_id: chatId,
        photo,
        ...(caption ? { caption } : {}),
        ...replyParameters(replyTo),
      },
      signal,
    );
    return sent.message_id;
  }

  /**
   * Where a file a user sent can be downloaded, and its size when Telegram knows it. A file over
   * the Bot API's 20 MB fails with `file_too_big`; an unknown file_id is refused (both permanent).
   */
  async getFile(fileId: string, signal?: AbortSignal): Promise<{ filePath: string; size: number | null }> {
    const file = await this.call('getFile', { file_id: fileId }, signal);
    if (!file.file_path) {
      // documented as optional; it is always there for a file the bot may download, so asking again is the cure
      throw new TelegramError(
        'unknown',
        'transient',
        'unknown',
        'Telegram getFile answered without a file_path.',
      );
    }
    return { filePath: file.file_path, size: file.file_size ?? null };
  }

  /**
   * The bytes of a file at the `filePath` getFile gave, at most `maxBytes` (over: `file_too_big`,
   * permanent). An expired link fails with `file_link_expired` (transient: getFile renews it); an
   * absolute path (a local Bot API server) is read from disk and must be a regular file.
   */
  async downloadFile(filePath: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    return downloadFile(this.files, filePath, maxBytes, signal);
  }

  /** Sets the command menu every chat shows (`/` in the client). */
  async setMyCommands(commands: readonly BotCommandSpec[], signal?: AbortSignal): Promise<void> {
    await this.call(
      'setMyCommands',
      { commands: commands.map((c) => ({ command: c.command, description: c.description })) },
      signal,
    );
  }

  /** Shows "typing…" in the chat; failures do not matter and are swallowed. */
  async sendTyping(chatId: number, signal?: AbortSignal): Promise<void> {
    try {
      await this.call('sendChatAction', { chat_id: chatId, action: 'typing' }, signal);
    } catch {
      // a missing typing indicator is not worth a retry or a log line
    }
  }

  /** The bot's own user (doctor's check that the token works). */
  async getMe(signal?: AbortSignal): Promise<{ id: number; username?: string }> {
    return this.call('getMe', undefined, signal);
  }

  /** The one way to Telegram: sends `method`, classifies any failure into a `TelegramError`. */
  private async call<M extends keyof Methods>(
    method: M,
    payload: Methods[M]['payload'],
    signal: AbortSignal | undefined,
  ): Promise<Methods[M]['result']> {
    const sent = inTopic(method, payload);
    try {
      return await this.api.send<Methods[M]['result']>(method, sent, signal);
    } catch (err) {
      const failure = classifyTelegramError(err, method);
      // in a topic, a reply to a message deleted meanwhile is refused even when sending without
      // the reply is allowed: the message goes without it, in the same topic
      if (hasReply(sent) && isTelegramFailure(failure, 'reply_missing')) {
        const { reply_parameters: _gone, ...unreplied } = sent as Record<string, unknown>;
        try {
          return await this.api.send<Methods[M]['result']>(method, unreplied, signal);
        } catch (again) {
          throw classifyTelegramError(again, method);
        }
      }
      throw failure;
    }
  }
}
