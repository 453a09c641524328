/**
 * A Telegram Bot API server on 127.0.0.1 for tests: `/bot<token>/<method>` with the documented
 * semantics of getUpdates (offset confirmation, long polling, 409 on a concurrent poll), sendMessage
 * validation (length, HTML entities, inline keyboards), drafts, callback queries and their answers,
 * edits, document and photo uploads (multipart), the command menu, and fault injection; files users send
 * (documents, photos, voice and video notes, audio, video, albums) with getFile, its 20 MB limit and
 * the expiring download links of `/file/bot<token>/<file_path>`. The product's real client talks to
 * it through `TELEGRAM_API_ROOT`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buffer as readBuffer } from 'node:stream/consumers';
import {
  Api,
  type BotCommand,
  type Chat,
  type InlineKeyboardButton,
  type Message,
  type User,
} from 'node-telegram-bot-api';
import { multipartBoundary, parseMultipart } from './multipart';
import { trackedSleep, waitUntil } from './wait-until';

export { parseMultipart } from './multipart';

/** An update as the Bot API sends it; unknown kinds (photo, callback_query, ...) pass through as given. */
export interface Update {
  update_id: number;
  message?: Message;
  edited_message?: Message;
  channel_post?: Message;
  [key: string]: unknown;
}

/** A sendMessage that the fake accepted, as the product sent it (raw text, before entity parsing). */
export interface SentMessage {
  chatId: number;
  /** The raw text; after an editMessageText, the latest one (each edit is also in `edits`). */
  text: string;
  parseMode: string | undefined;
  replyToMessageId: number | undefined;
  messageId: number;
  /** Date.now() when accepted. */
  at: number;
  /** `reply_markup.inline_keyboard` as sent (or as last edited); undefined without buttons. */
  keyboard?: InlineKeyboardButton[][];
  /** How many edits the message took. */
  editCount: number;
  /** The forum topic it was sent in (`message_thread_id`), undefined outside any. */
  threadId?: number;
}

/** One accepted editMessageText. */
export interface MessageEdit {
  chatId: number;
  messageId: number;
  text: string;
  parseMode: string | undefined;
  keyboard: InlineKeyboardButton[][] | undefined;
  at: number;
}

/** One accepted sendMessageDraft. */
export interface SentDraft {
  chatId: number;
  draftId: number;
  /** Raw text ('' for the "Thinking…" placeholder). */
  text: string;
  parseMode: string | undefined;
  at: number;
}

/** One accepted answerCallbackQuery. */
export interface CallbackAnswer {
  callbackQueryId: string;
  text: string | undefined;
  showAlert: boolean;
  at: number;
}

/** One accepted sendDocument upload. */
export interface SentDocument {
  chatId: number;
  messageId: number;
  filename: string;
  contentType: string;
  size: number;
  content: Buffer;
  caption: string | undefined;
  replyToMessageId: number | undefined;
  at: number;
  /** The forum topic it was sent in, undefined outside any. */
  threadId?: number;
}

/** One accepted sendPhoto upload, recorded like a document. */
export type SentPhoto = SentDocument;

/** One request to any method, recorded on arrival; `status` is filled in once it is answered. */
export interface TelegramCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
  status?: number;
}

/** The kinds of file a user sends that getFile serves, named as the Message fields that carry them. */
export type UserFileKind = 'document' | 'photo' | 'voice' | 'audio' | 'video' | 'video_note';

/** A file a user sends, as a test gives it. */
export interface UserFileInput {
  /** The bytes the download route serves. */
  data: Buffer | Uint8Array | string;
  /** Default by kind: application/octet-stream, image/jpeg, audio/ogg, audio/mpeg, video/mp4. */
  mimeType?: string;
  fileName?: string;
  /**
   * The size Telegram reports (`file_size`, and what getFile's 20 MB limit judges) when it is not
   * the data's length, so a test can send a 25 MB document without holding 25 MB.
   */
  declaredSize?: number;
}

/** One size of a photo. */
export interface PhotoSizeInput extends UserFileInput {
  width: number;
  height: number;
}

/**
 * The file of one user message: exactly one key, named and shaped as the Message field Telegram
 * sends (`photo` lists its sizes smallest first, as Telegram does; each size is a file of its own).
 */
export type MediaInput =
  | { document: UserFileInput }
  | { photo: PhotoSizeInput[] }
  | { voice: UserFileInput & { duration?: number } }
  | { audio: UserFileInput & { duration?: number; performer?: string; title?: string } }
  | { video: UserFileInput & { duration?: number; width?: number; height?: number } }
  | { video_note: UserFileInput & { duration?: number; length?: number } };

/** A file the fake holds for getFile and the download route. */
export interface StoredFile {
  readonly fileId: string;
  readonly fileUniqueId: string;
  readonly kind: UserFileKind;
  readonly data: Buffer;
  /** What Telegram reports: the declared size, else the data's length. */
  readonly size: number;
  readonly mimeType: string;
  readonly fileName: string | undefined;
  /**
   * The `file_path` getFile answers, given on the first getFile (`documents/file_0.pdf`; an
   * absolute path when the fake runs as a local server); undefined before.
   */
  readonly filePath: string | undefined;
}

/** One request to the download route `/file/bot<token>/<file_path>`. */
export interface FileDownload {
  filePath: string;
  /** The file served; undefined when the path was unknown or expired. */
  fileId: string | undefined;
  at: number;
  /** The HTTP status once answered. */
  status?: number;
}

/** The name `failNext` takes for the file download route, which is no Bot API method. */
export const FILE_DOWNLOAD = 'file download';

/**
 * An injected failure: a Bot API error envelope (`errorCode` is also the HTTP status), a raw HTTP
 * answer (a proxy's 502 page), a request that is never answered, or a normal answer made late.
 */
export type TelegramFailure =
  | { errorCode: number; description: string; retryAfter?: number }
  | { httpStatus: number; body?: string }
  | { hang: true }
  | { delayMs: number };

/** Real Telegram failures, word for word, for `failNext`. */
export const telegramErrors = {
  tooManyRequests: (retryAfter: number): TelegramFailure => ({
    errorCode: 429,
    description: `Too Many Requests: retry after ${retryAfter}`,
    retryAfter,
  }),
  blocked: (): TelegramFailure => ({ errorCode: 403, description: 'Forbidden: bot was blocked by the user' }),
  chatNotFound: (): TelegramFailure => ({ errorCode: 400, description: 'Bad Request: chat not found' }),
  unauthorized: (): TelegramFailure => ({ errorCode: 401, description: 'Unauthorized' }),
  internal: (): TelegramFailure => ({ errorCode: 500, description: 'Internal Server Error' }),
  badGateway: (): TelegramFailure => ({
    httpStatus: 502,
    body: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n',
  }),
};

/** A running fake; see `startFakeTelegram`. */
export interface FakeTelegram {
  /** The apiRoot to give the client, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly token: string;
  /** The bot user getMe returns; its id is the token's numeric prefix, as on Telegram. */
  readonly bot: User;
  readonly sent: SentMessage[];
  readonly calls: TelegramCall[];
  readonly drafts: SentDraft[];
  readonly edits: MessageEdit[];
  readonly callbackAnswers: CallbackAnswer[];
  readonly documents: SentDocument[];
  readonly photos: SentPhoto[];
  /** Files users sent (pushMedia) and documents and photos the bot sent, in the order the fake got them. */
  readonly files: readonly StoredFile[];
  /** Requests to the download route, answered or not. */
  readonly downloads: FileDownload[];
  /** The command menu as last set by setMyCommands ([] before). */
  readonly commands: readonly BotCommand[];
  /** Highest positive getUpdates offset received (0 before any). */
  readonly confirmedOffset: number;
  /** Queues a text message from a user in a private chat; returns the full update. */
  pushMessage(chatId: number, text: string, opts?: PushMessageOptions): Update;
  /**
   * Queues a message from a user in a private chat carrying a file, as Telegram sends it (file ids,
   * sizes, mime type, `caption`, `media_group_id`); the file is then served by getFile and the
   * download route. Returns the full update.
   */
  pushMedia(chatId: number, media: MediaInput, opts?: PushMediaOptions): Update;
  /** Makes every download link given so far expire, as if its hour had passed; getFile gives a new one. */
  expireFileLinks(): void;
  /** Deletes a message as its sender would: a reply to it is then refused in a forum topic. */
  deleteMessage(chatId: number, messageId: number): void;
  /** Queues any update; `update_id` is assigned unless given. Dropped, as on Telegram, if allowed_updates excludes its kind. */
  pushUpdate(update: Partial<Update> & Record<string, unknown>): Update;
  /**
   * Queues a button press as Telegram sends it: a `callback_query` from `fromUserId` on message
   * `messageId` of `chatId` (the message as the fake knows it, buttons included) carrying `data`.
   * Its id can be answered once with answerCallbackQuery.
   */
  pushCallbackQuery(chatId: number, fromUserId: number, messageId: number, data: string): Update;
  /** Makes a callback query too old to answer, as if its response time had passed. */
  expireCallbackQuery(callbackQueryId: string): void;
  /** While on, `method` is unknown to the server (404 Not Found), like a Bot API older than it. */
  setMethodUnknown(method: string, unknown?: boolean): void;
  /** The accepted message `messageId` of `chatId`, with its latest text and buttons. */
  message(chatId: number, messageId: number): SentMessage | undefined;
  /** Updates not yet confirmed by an offset. */
  pendingCount(): number;
  /** Accepted messages to one chat. */
  sentTo(chatId: number): SentMessage[];
  /** Calls of one method. */
  callsOf(method: string): TelegramCall[];
  /**
   * Makes the next `times` calls of `method` (that `match` their params) fail with `failure`;
   * `FILE_DOWNLOAD` names the download route, whose params are `{ file_path }`.
   */
  failNext(
    method: string,
    failure: TelegramFailure,
    times?: number,
    match?: (params: Record<string, unknown>) => boolean,
  ): void;
  /** Forgets every pending failNext. */
  clearFailures(): void;
  /** Delays every answer by `ms`. */
  setLatency(ms: number): void;
  /** While on, every sendMessage with a parse_mode is refused as unparsable. */
  rejectFormatting(on: boolean): void;
  /** Resolves once `predicate` holds; rejects after `timeoutMs` naming `what` and what the fake saw. */
  waitFor(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** Resolves once at least `count` messages were accepted. */
  waitForSent(count: number, timeoutMs?: number): Promise<void>;
  /** Stops the server and drops every held or hanging request. */
  close(): Promise<void>;
}

/** Options of `pushMessage`. */
export interface PushMessageOptions {
  /** Unix seconds (default now). */
  date?: number;
  from?: Partial<User>;
  /** Extra Message fields (entities, reply_to_message, ...). */
  extra?: Record<string, unknown>;
  /**
   * Sent in this forum topic: the chat (a supergroup, id ≤ -10^12) becomes a forum, and the message
   * carries `message_thread_id` and `is_topic_message`, as Telegram sends a topic's messages.
   */
  threadId?: number;
}

/** Options of `pushMedia`. */
export interface PushMediaOptions extends PushMessageOptions {
  caption?: string;
  /** Marks the message as one part of an album; Telegram sends each part as its own update. */
  mediaGroupId?: string;
}

/** Options of `startFakeTelegram`. */
export interface FakeTelegramOptions {
  token?: string;
  /** How long a download link from getFile stays valid (default one hour, the documented minimum). */
  fileLinkTtlMs?: number;
  /**
   * Behave as a local Bot API server started with `--local` in `workingDir`: getFile has no size
   * limit and answers the file's absolute path (the fake writes the bytes there, under
   * `<workingDir>/<token>/`), and nothing is served under `/file/`, since that server answers only
   * `/bot<token>/` routes.
   */
  local?: { workingDir: string };
}

const DEFAULT_TOKEN = '123456789:AAFakeTokenForTests_abcdefghijklmnop';
const MAX_TEXT_LENGTH = 4096;
const MAX_CAPTION_LENGTH = 1024;
const MAX_CALLBACK_DATA_BYTES = 64;
const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
// "The photo must be at most 10 MB in size. The photo's width and height must not exceed 10000 in
// total. Width and height ratio must be at most 20."
const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
const MAX_PHOTO_SIDES = 10000;
const MAX_PHOTO_RATIO = 20;
// "bots can download files of up to 20MB in size": the server's limit is 20 << 20 bytes, exclusive.
const MAX_DOWNLOAD_BYTES = 20 << 20;
// "It is guaranteed that the link will be valid for at least 1 hour."
const FILE_LINK_TTL_MS = 60 * 60 * 1000;
// Where Telegram files each kind, the file_id prefix that encodes it, and its usual type.
const FILE_KINDS: Record<
  UserFileKind,
  { folder: string; idPrefix: string; mimeType: string; extension: string }
> = {
  document: {
    folder: 'documents',
    idPrefix: 'BQACAgIAAxkBAAI',
    mimeType: 'application/octet-stream',
    extension: '',
  },
  photo: { folder: 'photos', idPrefix: 'AgACAgIAAxkBAAI', mimeType: 'image/jpeg', extension: '.jpg' },
  voice: { folder: 'voice', idPrefix: 'AwACAgIAAxkBAAI', mimeType: 'audio/ogg', extension: '.oga' },
  audio: { folder: 'music', idPrefix: 'CQACAgIAAxkBAAI', mimeType: 'audio/mpeg', extension: '.mp3' },
  video: { folder: 'videos', idPrefix: 'BAACAgIAAxkBAAI', mimeType: 'video/mp4', extension: '.mp4' },
  video_note: {
    folder: 'video_notes',
    idPrefix: 'DQACAgIAAxkBAAI',
    mimeType: 'video/mp4',
    extension: '.mp4',
  },
};
const QUERY_TOO_OLD = 'Bad Request: query is too old and response timeout expired or query ID is invalid';
const NOT_MODIFIED =
  'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';
const CONFLICT =
  'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running';
// The kinds Telegram leaves out when allowed_updates is empty or was never set.
const OPT_IN_UPDATES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);
const MESSAGE_KINDS = [
  'message',
  'edited_message',
  'channel_post',
  'edited_channel_post',
  'business_message',
];

// Method names are case-insensitive on Telegram; the generated client knows every real one, so a
// typo in the product gets the 404 the real server gives instead of a silent `true`.
const KNOWN_METHODS = new Map(
  Object.getOwnPropertyNames(Api.prototype)
    .filter((name) => name !== 'constructor' && name !== 'request')
    .map((name) => [name.toLowerCase(), name]),
);

// Form and query values are all strings: these become numbers, booleans or JSON like Telegram reads them.
const INTEGER_PARAMS = new Set([
  'chat_id',
  'offset',
  'limit',
  'timeout',
  'message_id',
  'reply_to_message_id',
  'message_thread_id',
  'from_chat_id',
  'draft_id',
  'cache_time',
]);
const BOOLEAN_PARAMS = new Set([
  'disable_notification',
  'protect_content',
  'allow_sending_without_reply',
  'drop_pending_updates',
  'disable_web_page_preview',
  'show_alert',
  'can_stop',
  'keep_on_stop',
  'disable_content_type_detection',
]);

interface FailureRule {
  method: string;
  failure: TelegramFailure;
  remaining: number;
  match?: (params: Record<string, unknown>) => boolean;
}

interface HeldPoll {
  res: http.ServerResponse;
  call: TelegramCall;
  offset: number;
  limit: number;
  timer: NodeJS.Timeout;
}

/** A StoredFile as the fake keeps it: the path is given on the first getFile. */
interface HeldFile extends StoredFile {
  filePath: string | undefined;
}

class ApiRefusal extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
  ) {
    super(description);
  }
}

/** Starts a fake Bot API server on 127.0.0.1 with a random port. */
export async function startFakeTelegram(opts: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  const token = opts.token ?? DEFAULT_TOKEN;
  const bot: User = {
    id: Number(token.split(':')[0]) || 123456789,
    is_bot: true,
    first_name: 'autonous-test',
    username: 'autonous_test_bot',
  };
  const sent: SentMessage[] = [];
  const calls: TelegramCall[] = [];
  const drafts: SentDraft[] = [];
  const edits: MessageEdit[] = [];
  const callbackAnswers: CallbackAnswer[] = [];
  const documents: SentDocument[] = [];
  const photos: SentPhoto[] = [];
  const files: HeldFile[] = [];
  const fileById = new Map<string, HeldFile>();
  const fileLinks = new Map<string, { file: HeldFile; expiresAt: number }>();
  const filesPerFolder = new Map<string, number>();
  const downloads: FileDownload[] = [];
  const fileLinkTtlMs = opts.fileLinkTtlMs ?? FILE_LINK_TTL_MS;
  const openQueries = new Set<string>();
  const unknownMethods = new Set<string>();
  let commands: BotCommand[] = [];
  let nextQueryId = 4_000_000_000_000_000;
  const failures: FailureRule[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const lastMessageId = new Map<number, number>();
  const knownMessages = new Map<string, Message>();
  // supergroups that are forums (a topic message was pushed in them)
  const forums = new Set<number>();
  let pending: Update[] = [];
  let nextUpdateId = 1000;
  let confirmedOffset = 0;
  let held: HeldPoll | undefined;
  let latencyMs = 0;
  let refuseFormatting = false;
  let allowedUpdates: Set<string> | undefined;
  let webhookUrl = '';
  let closed = false;

  const sleep = (ms: number): Promise<void> => trackedSleep(timers, ms);

  const nextMessageId = (chatId: number): number => {
    const id = (lastMessageId.get(chatId) ?? 0) + 1;
    lastMessageId.set(chatId, id);
    return id;
  };

  const remember = (message: Message): void => {
    knownMessages.set(`${message.chat.id}:${message.message_id}`, message);
    lastMessageId.set(message.chat.id, Math.max(lastMessageId.get(message.chat.id) ?? 0, message.message_id));
  };

  const answer = (
    res: http.ServerResponse,
    call: { status?: number } | undefined,
    status: number,
    body: string,
  ): void => {
    if (call) call.status = status;
    if (res.writableEnded || res.destroyed) return;
    const type = body.startsWith('{') ? 'application/json' : 'text/html';
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const ok = (res: http.ServerResponse, call: TelegramCall, result: unknown): void =>
    answer(res, call, 200, JSON.stringify({ ok: true, result }));
  const refuse = (
    res: http.ServerResponse,
    call: { status?: number } | undefined,
    errorCode: number,
    description: string,
    parameters?: Record<string, unknown>,
  ): void =>
    answer(
      res,
      call,
      errorCode,
      JSON.stringify({
        ok: false,
        error_code: errorCode,
        description,
        ...(parameters ? { parameters } : {}),
      }),
    );

  const readyFor = (offset: number, limit: number): Update[] =>
    pending.filter((u) => u.update_id >= offset).slice(0, limit);

  const releaseHeld = (): void => {
    if (!held) return;
    const ready = readyFor(held.offset, held.limit);
    if (ready.length === 0) return;
    const poll = held;
    held = undefined;
    clearTimeout(poll.timer);
    timers.delete(poll.timer);
    ok(poll.res, poll.call, ready);
  };

  const enqueue = (update: Update): void => {
    for (const kind of MESSAGE_KINDS) {
      const message = update[kind] as Message | undefined;
      if (message && typeof message === 'object' && message.chat) remember(message);
    }
    const kind = Object.keys(update).find((key) => key !== 'update_id') ?? '';
    const allowed = allowedUpdates ? allowedUpdates.has(kind) : !OPT_IN_UPDATES.has(kind);
    if (!allowed) return;
    pending.push(update);
    releaseHeld();
  };

  const pushUpdate = (update: Partial<Update> & Record<string, unknown>): Update => {
    const updateId = typeof update.update_id === 'number' ? update.update_id : nextUpdateId;
    nextUpdateId = Math.max(nextUpdateId, updateId + 1);
    const full: Update = { ...update, update_id: updateId };
    enqueue(full);
    return full;
  };

  /** A message from a user: in a private chat when `chatId` is positive, as Telegram numbers chats. */
  const userMessage = (
    chatId: number,
    content: Record<string, unknown>,
    options: PushMessageOptions,
  ): Message => {
    const from: User = {
      id: chatId,
      is_bot: false,
      first_name: 'Tester',
      language_code: 'en',
      ...options.from,
    };
    const thread = options.threadId;
    if (thread !== undefined) {
      if (chatId > -1000000000000) throw new Error('pushMessage: only a supergroup can be a forum');
      forums.add(chatId);
    }
    const chat = chatOf(chatId, from);
    return {
      message_id: nextMessageId(chatId),
      from,
      chat: forums.has(chatId) ? { ...chat, is_forum: true } : chat,
      date: options.date ?? Math.floor(Date.now() / 1000),
      ...(thread !== undefined ? { message_thread_id: thread, is_topic_message: true } : {}),
      ...content,
      ...options.extra,
    };
  };

  /**
   * The topic a post goes to (`message_thread_id`), refused as Telegram refuses it for a chat that
   * is no forum.
   */
  const threadOf = (params: Record<string, unknown>, chatId: number): number | undefined => {
    const thread = integer(params.message_thread_id);
    if (thread !== undefined && !forums.has(chatId))
      throw new ApiRefusal(400, 'Bad Request: message thread not found');
    return thread;
  };

  const pushMessage = (chatId: number, text: string, options: PushMessageOptions = {}): Update =>
    pushUpdate({ message: userMessage(chatId, { text }, options) });

  const storeFile = (
    kind: UserFileKind,
    input: UserFileInput,
    ids?: { fileId: string; fileUniqueId: string },
  ): HeldFile => {
    const data = Buffer.isBuffer(input.data) ? input.data : Buffer.from(input.data);
    const file: HeldFile = {
      fileId: ids?.fileId ?? `${FILE_KINDS[kind].idPrefix}${crypto.randomBytes(24).toString('base64url')}`,
      fileUniqueId: ids?.fileUniqueId ?? `AgAD${crypto.randomBytes(8).toString('base64url')}`,
      kind,
      data,
      size: input.declaredSize ?? data.length,
      mimeType: input.mimeType ?? FILE_KINDS[kind].mimeType,
      fileName: input.fileName,
      filePath: undefined,
    };
    files.push(file);
    fileById.set(file.fileId, file);
    return file;
  };

  /** The Message field of `media`: its files stored, shaped as Telegram sends them. */
  const mediaContent = (media: MediaInput): Record<string, unknown> => {
    // file_size is left out when it is 0, as the server does
    const ref = (file: HeldFile) => ({
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      ...(file.size > 0 ? { file_size: file.size } : {}),
    });
    const named = (file: HeldFile) => (file.fileName === undefined ? {} : { file_name: file.fileName });
    if ('photo' in media) {
      if (media.photo.length === 0) throw new Error('pushMedia: a photo needs at least one size');
      const sizes = media.photo.map((size) => ({ size, file: storeFile('photo', size) }));
      if (sizes.some(({ file }, i) => i > 0 && file.size < (sizes[i - 1]?.file.size ?? 0)))
        throw new Error('pushMedia: photo sizes go smallest first, as Telegram sends them');
      return {
        photo: sizes.map(({ size, file }) => ({ ...ref(file), width: size.width, height: size.height })),
      };
    }
    if ('document' in media) {
      const file = storeFile('document', media.document);
      return { document: { ...named(file), mime_type: file.mimeType, ...ref(file) } };
    }
    if ('voice' in media) {
      const file = storeFile('voice', media.voice);
      return { voice: { duration: media.voice.duration ?? 1, mime_type: file.mimeType, ...ref(file) } };
    }
    if ('audio' in media) {
      const { duration, performer, title } = media.audio;
      const file = storeFile('audio', media.audio);
      return {
        audio: {
          duration: duration ?? 1,
          ...(performer === undefined ? {} : { performer }),
          ...(title === undefined ? {} : { title }),
          ...named(file),
          mime_type: file.mimeType,
          ...ref(file),
        },
      };
    }
    if ('video' in media) {
      const { duration, width, height } = media.video;
      const file = storeFile('video', media.video);
      return {
        video: {
          width: width ?? 640,
          height: height ?? 360,
          duration: duration ?? 1,
          ...named(file),
          mime_type: file.mimeType,
          ...ref(file),
        },
      };
    }
    // a video note is square (`length` is its side) and carries no mime_type or file name
    const file = storeFile('video_note', media.video_note);
    return {
      video_note: {
        duration: media.video_note.duration ?? 1,
        length: media.video_note.length ?? 384,
        ...ref(file),
      },
    };
  };

  const pushMedia = (chatId: number, media: MediaInput, options: PushMediaOptions = {}): Update => {
    if (Object.keys(media).length !== 1)
      throw new Error('pushMedia: give exactly one of document, photo, voice, audio, video, video_note');
    const content = {
      ...(options.mediaGroupId === undefined ? {} : { media_group_id: options.mediaGroupId }),
      ...mediaContent(media),
      ...(options.caption === undefined ? {} : { caption: options.caption }),
    };
    return pushUpdate({ message: userMessage(chatId, content, options) });
  };

  /** getFile: the File object with a download path, or the server's refusal. */
  const getFile = (params: Record<string, unknown>): Record<string, unknown> => {
    const fileId = params.file_id === undefined ? '' : String(params.file_id);
    if (fileId === '') throw new ApiRefusal(400, 'Bad Request: file_id not specified');
    const file = fileById.get(fileId);
    if (!file) throw new ApiRefusal(400, 'Bad Request: invalid file_id');
    if (!opts.local && file.size > MAX_DOWNLOAD_BYTES)
      throw new ApiRefusal(400, 'Bad Request: file is too big');
    if (file.filePath === undefined) {
      // the server names the file by its folder's counter and keeps the original extension
      const { folder, extension } = FILE_KINDS[file.kind];
      const number = filesPerFolder.get(folder) ?? 0;
      filesPerFolder.set(folder, number + 1);
      const ext = path.extname(file.fileName ?? '').toLowerCase() || extension;
      const relative = `${folder}/file_${number}${ext}`;
      if (opts.local) {
        const absolute = path.join(path.resolve(opts.local.workingDir), token, relative);
        fs.mkdirSync(path.dirname(absolute), { recursive: true });
        fs.writeFileSync(absolute, file.data);
        file.filePath = absolute;
      } else file.filePath = relative;
    }
    // each getFile renews the link: "when the link expires, a new one can be requested by calling getFile again"
    if (!opts.local) fileLinks.set(file.filePath, { file, expiresAt: Date.now() + fileLinkTtlMs });
    return {
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      ...(file.size > 0 ? { file_size: file.size } : {}),
      file_path: file.filePath,
    };
  };

  /** The download route: the bytes of a live link, else 404 like the file server. */
  const serveFile = async (res: http.ServerResponse, routeToken: string, filePath: string): Promise<void> => {
    const download: FileDownload = { filePath, fileId: undefined, at: Date.now() };
    downloads.push(download);
    if (latencyMs > 0) await sleep(latencyMs);
    const failure = takeFailure(FILE_DOWNLOAD, { file_path: filePath });
    if (failure && 'hang' in failure) return; // answered by close(), like a dead connection
    if (failure && 'delayMs' in failure) await sleep(failure.delayMs);
    else if (failure && 'httpStatus' in failure)
      return answer(res, download, failure.httpStatus, failure.body ?? '');
    else if (failure && 'errorCode' in failure) {
      const parameters = failure.retryAfter === undefined ? undefined : { retry_after: failure.retryAfter };
      return refuse(res, download, failure.errorCode, failure.description, parameters);
    }
    if (closed) return;
    const link = fileLinks.get(filePath);
    // a local server has no /file/ route at all; the file is at its absolute path instead
    if (opts.local || routeToken !== token || !link || Date.now() >= link.expiresAt)
      return refuse(res, download, 404, 'Not Found');
    download.fileId = link.file.fileId;
    download.status = 200;
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(200, { 'content-type': link.file.mimeType, 'content-length': link.file.data.length });
    res.end(link.file.data);
  };

  const getUpdates = (
    res: http.ServerResponse,
    call: TelegramCall,
    params: Record<string, unknown>,
  ): void => {
    if (webhookUrl) {
      refuse(
        res,
        call,
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
      return;
    }
    // The newest poll wins: the one being held is told it was replaced.
    if (held) {
      const old = held;
      held = undefined;
      clearTimeout(old.timer);
      timers.delete(old.timer);
      refuse(old.res, old.call, 409, CONFLICT);
    }
    let offset = integer(params.offset) ?? 0;
    const rawLimit = integer(params.limit);
    const limit = rawLimit === undefined ? 100 : Math.min(100, Math.max(1, rawLimit));
    const timeout = Math.max(0, integer(params.timeout) ?? 0);
    if (offset > 0) {
      pending = pending.filter((u) => u.update_id >= offset);
      confirmedOffset = Math.max(confirmedOffset, offset);
    } else if (offset < 0) {
      // "-offset updates from the end of the queue; all previous updates will be forgotten"
      pending = pending.slice(offset);
      offset = 0;
    }
    if (Array.isArray(params.allowed_updates)) {
      const kinds = params.allowed_updates.map(String);
      allowedUpdates = kinds.length > 0 ? new Set(kinds) : undefined;
    }
    const ready = readyFor(offset, limit);
    if (ready.length > 0 || timeout === 0 || res.destroyed) {
      ok(res, call, ready);
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (held?.res !== res) return;
      held = undefined;
      ok(res, call, []);
    }, timeout * 1000);
    timers.add(timer);
    held = { res, call, offset, limit, timer };
    // A client that gives up (abort, timeout, process killed) is forgotten, never answered.
    res.on('close', () => {
      if (held?.res !== res) return;
      clearTimeout(timer);
      timers.delete(timer);
      held = undefined;
    });
  };

  const sendMessage = (params: Record<string, unknown>): Message => {
    const rawChatId = params.chat_id;
    if (rawChatId === undefined || rawChatId === '')
      throw new ApiRefusal(400, 'Bad Request: chat_id is empty');
    const chatId = integer(rawChatId);
    if (chatId === undefined || chatId === 0) throw new ApiRefusal(400, 'Bad Request: chat not found');
    const raw = params.text === undefined ? '' : String(params.text);
    const parseMode =
      typeof params.parse_mode === 'string' && params.parse_mode !== '' ? params.parse_mode : undefined;
    if (parseMode && refuseFormatting) {
      throw new ApiRefusal(
        400,
        "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 0",
      );
    }
    let text = raw;
    if (parseMode) {
      const mode = parseMode.toLowerCase();
      if (mode === 'html') {
        const parsed = parseTelegramHtml(raw);
        if ('error' in parsed)
          throw new ApiRefusal(400, `Bad Request: can't parse entities: ${parsed.error}`);
        text = parsed.text;
      } else if (mode !== 'markdown' && mode !== 'markdownv2') {
        throw new ApiRefusal(400, 'Bad Request: unsupported parse_mode');
      }
    }
    // Telegram trims the text and measures it in UTF-16 code units after entity parsing.
    text = text.trim();
    if (text === '') throw new ApiRefusal(400, 'Bad Request: message text is empty');
    if (text.length > MAX_TEXT_LENGTH) throw new ApiRefusal(400, 'Bad Request: message is too long');

    const replyParameters = params.reply_parameters as Record<string, unknown> | undefined;
    const replyToMessageId =
      integer(
        replyParameters && typeof replyParameters === 'object' ? replyParameters.message_id : undefined,
      ) ?? integer(params.reply_to_message_id);
    const allowWithoutReply =
      (replyParameters &&
        typeof replyParameters === 'object' &&
        replyParameters.allow_sending_without_reply === true) ||
      params.allow_sending_without_reply === true;
    const thread = threadOf(params, chatId);
    let replyTo: Message | undefined;
    if (replyToMessageId !== undefined) {
      replyTo = knownMessages.get(`${chatId}:${replyToMessageId}`);
      // in a forum topic a reply to a missing message is refused whatever allow_sending_without_reply says
      if (!replyTo && (!allowWithoutReply || thread !== undefined))
        throw new ApiRefusal(400, 'Bad Request: message to be replied not found');
    }
    const keyboard = inlineKeyboard(params.reply_markup);
    const message: Message = {
      message_id: nextMessageId(chatId),
      from: bot,
      chat: chatOf(chatId),
      date: Math.floor(Date.now() / 1000),
      text,
      ...(thread !== undefined ? { message_thread_id: thread, is_topic_message: true } : {}),
      ...(replyTo ? { reply_to_message: replyTo } : {}),
      ...(keyboard ? { reply_markup: { inline_keyboard: keyboard } } : {}),
    };
    remember(message);
    sent.push({
      chatId,
      text: raw,
      parseMode,
      replyToMessageId: replyTo ? replyToMessageId : undefined,
      messageId: message.message_id,
      at: Date.now(),
      ...(keyboard ? { keyboard } : {}),
      editCount: 0,
      ...(thread !== undefined ? { threadId: thread } : {}),
    });
    return message;
  };

  const sendMessageDraft = (params: Record<string, unknown>): true => {
    const chatId = requireChatId(params);
    // Drafts exist in private chats only; groups and channels get the server's peer error.
    if (chatId < 0) throw new ApiRefusal(400, 'Bad Request: TEXTDRAFT_PEER_INVALID');
    const draftId = integer(params.draft_id);
    if (draftId === undefined || draftId === 0)
      throw new ApiRefusal(400, 'Bad Request: draft_id must be a non-zero integer');
    const raw = params.text === undefined ? '' : String(params.text);
    const parseMode = parseModeOf(params);
    // An empty text is the documented "Thinking…" placeholder, so only the upper bound applies.
    if (visibleText(raw, parseMode).length > MAX_TEXT_LENGTH)
      throw new ApiRefusal(400, 'Bad Request: message is too long');
    drafts.push({ chatId, draftId, text: raw, parseMode, at: Date.now() });
    return true;
  };

  const answerCallbackQuery = (params: Record<string, unknown>): true => {
    const id = params.callback_query_id === undefined ? '' : String(params.callback_query_id);
    if (id === '') throw new ApiRefusal(400, 'Bad Request: query_id is empty');
    // Each query can be answered once; an unknown, expired or answered id gets the same sentence.
    if (!openQueries.delete(id)) throw new ApiRefusal(400, QUERY_TOO_OLD);
    callbackAnswers.push({
      callbackQueryId: id,
      text: params.text === undefined ? undefined : String(params.text),
      showAlert: params.show_alert === true,
      at: Date.now(),
    });
    return true;
  };

  const editMessageText = (params: Record<string, unknown>): Message => {
    const chatId = requireChatId(params);
    const messageId = integer(params.message_id);
    if (messageId === undefined)
      throw new ApiRefusal(400, 'Bad Request: message identifier is not specified');
    const known = knownMessages.get(`${chatId}:${messageId}`);
    const record = sent.find((m) => m.chatId === chatId && m.messageId === messageId);
    if (!known) throw new ApiRefusal(400, 'Bad Request: message to edit not found');
    if (!record) throw new ApiRefusal(400, "Bad Request: message can't be edited");
    const raw = params.text === undefined ? '' : String(params.text);
    const parseMode = parseModeOf(params);
    const text = visibleText(raw, parseMode).trim();
    if (text === '') throw new ApiRefusal(400, 'Bad Request: message text is empty');
    if (text.length > MAX_TEXT_LENGTH) throw new ApiRefusal(400, 'Bad Request: MESSAGE_TOO_LONG');
    // Without reply_markup an edit leaves the message without buttons, as on Telegram.
    const keyboard = inlineKeyboard(params.reply_markup);
    const sameText = record.text.trim() === raw.trim() && record.parseMode === parseMode;
    if (sameText && JSON.stringify(record.keyboard) === JSON.stringify(keyboard))
      throw new ApiRefusal(400, NOT_MODIFIED);
    const { reply_markup: _old, ...rest } = known;
    const edited: Message = {
      ...rest,
      text,
      edit_date: Math.floor(Date.now() / 1000),
      ...(keyboard ? { reply_markup: { inline_keyboard: keyboard } } : {}),
    };
    knownMessages.set(`${chatId}:${messageId}`, edited);
    record.text = raw;
    record.parseMode = parseMode;
    record.keyboard = keyboard;
    record.editCount++;
    edits.push({ chatId, messageId, text: raw, parseMode, keyboard, at: Date.now() });
    return edited;
  };

  /** The uploaded file a send method names in `field`, refused the way Telegram refuses it. */
  const uploadedFile = (
    params: Record<string, unknown>,
    files: Map<string, UploadedFile>,
    field: 'document' | 'photo',
  ): UploadedFile => {
    const ref = params[field];
    const file =
      typeof ref === 'string' && ref.startsWith('attach://')
        ? files.get(ref.slice('attach://'.length))
        : files.get(field);
    if (!file) {
      if (typeof ref === 'string' && ref !== '')
        throw new ApiRefusal(400, 'Bad Request: wrong file identifier/HTTP URL specified');
      throw new ApiRefusal(400, `Bad Request: there is no ${field} in the request`);
    }
    if (file.data.length === 0) throw new ApiRefusal(400, 'Bad Request: file must be non-empty');
    return file;
  };

  /** The caption of an upload as sent and as shown, refused over Telegram's 1024 characters. */
  const captionOf = (params: Record<string, unknown>): { caption?: string; captionText: string } => {
    const caption = params.caption === undefined ? undefined : String(params.caption);
    const captionText = caption === undefined ? '' : visibleText(caption, parseModeOf(params)).trim();
    if (captionText.length > MAX_CAPTION_LENGTH)
      throw new ApiRefusal(400, 'Bad Request: message caption is too long');
    return { ...(caption === undefined ? {} : { caption }), captionText };
  };

  const replyToOf = (params: Record<string, unknown>): number | undefined =>
    integer((params.reply_parameters as Record<string, unknown> | undefined)?.message_id);

  const sendDocument = (params: Record<string, unknown>, files: Map<string, UploadedFile>): Message => {
    const chatId = requireChatId(params);
    const file = uploadedFile(params, files, 'document');
    const { caption, captionText } = captionOf(params);
    const thread = threadOf(params, chatId);
    const replyToMessageId = replyToOf(params);
    const message: Message = {
      message_id: nextMessageId(chatId),
      from: bot,
      chat: chatOf(chatId),
      date: Math.floor(Date.now() / 1000),
      document: {
        file_id: `BQACAgIAAxkBAAI${crypto.randomBytes(12).toString('base64url')}`,
        file_unique_id: `AgAD${crypto.randomBytes(6).toString('base64url')}`,
        file_name: file.filename,
        mime_type: file.contentType,
        file_size: file.data.length,
      },
      ...(captionText ? { caption: captionText } : {}),
    };
    remember(message);
    // what the bot sent can be fetched back with getFile, as on Telegram
    if (message.document) {
      const { file_id: fileId, file_unique_id: fileUniqueId } = message.document;
      storeFile(
        'document',
        { data: file.data, mimeType: file.contentType, fileName: file.filename },
        { fileId, fileUniqueId },
      );
    }
    documents.push({
      chatId,
      messageId: message.message_id,
      filename: file.filename,
      contentType: file.contentType,
      size: file.data.length,
      content: file.data,
      caption,
      replyToMessageId,
      at: Date.now(),
      ...(thread !== undefined ? { threadId: thread } : {}),
    });
    return message;
  };

  const sendPhoto = (params: Record<string, unknown>, files: Map<string, UploadedFile>): Message => {
    const chatId = requireChatId(params);
    const file = uploadedFile(params, files, 'photo');
    const { caption, captionText } = captionOf(params);
    const thread = threadOf(params, chatId);
    const replyToMessageId = replyToOf(params);
    if (file.data.length > MAX_PHOTO_BYTES) throw new ApiRefusal(400, 'Bad Request: PHOTO_SAVE_FILE_INVALID');
    const image = imageOf(file.data);
    if (!image) throw new ApiRefusal(400, 'Bad Request: IMAGE_PROCESS_FAILED');
    const { width, height } = image;
    if (
      width + height > MAX_PHOTO_SIDES ||
      Math.max(width, height) > MAX_PHOTO_RATIO * Math.max(1, Math.min(width, height))
    )
      throw new ApiRefusal(400, 'Bad Request: PHOTO_INVALID_DIMENSIONS');
    // Telegram answers a few sizes of the photo; the fake keeps the one it was given
    const stored = storeFile('photo', { data: file.data, mimeType: 'image/jpeg' });
    const message: Message = {
      message_id: nextMessageId(chatId),
      from: bot,
      chat: chatOf(chatId),
      date: Math.floor(Date.now() / 1000),
      photo: [
        {
          file_id: stored.fileId,
          file_unique_id: stored.fileUniqueId,
          file_size: stored.size,
          width,
          height,
        },
      ],
      ...(captionText ? { caption: captionText } : {}),
    };
    remember(message);
    photos.push({
      chatId,
      messageId: message.message_id,
      filename: file.filename,
      contentType: file.contentType,
      size: file.data.length,
      content: file.data,
      caption,
      replyToMessageId,
      at: Date.now(),
      ...(thread !== undefined ? { threadId: thread } : {}),
    });
    return message;
  };

  const setMyCommands = (params: Record<string, unknown>): true => {
    const list = params.commands;
    if (!Array.isArray(list)) throw new ApiRefusal(400, "Bad Request: can't parse commands JSON object");
    if (list.length > 100) throw new ApiRefusal(400, 'Bad Request: too many commands specified');
    const parsed: BotCommand[] = [];
    for (const entry of list as unknown[]) {
      const item = (entry && typeof entry === 'object' ? entry : {}) as Record<string, unknown>;
      const command = typeof item.command === 'string' ? item.command : '';
      const description = typeof item.description === 'string' ? item.description : '';
      if (!/^[a-z0-9_]{1,32}$/.test(command)) throw new ApiRefusal(400, 'Bad Request: BOT_COMMAND_INVALID');
      if (description.trim().length === 0 || description.length > 256)
        throw new ApiRefusal(400, 'Bad Request: command description is invalid');
      parsed.push({ command, description });
    }
    commands = parsed;
    return true;
  };

  const pushCallbackQuery = (chatId: number, fromUserId: number, messageId: number, data: string): Update => {
    const id = String(nextQueryId++);
    openQueries.add(id);
    const from: User = { id: fromUserId, is_bot: false, first_name: 'Tester', language_code: 'en' };
    // A message the fake never saw is "inaccessible" to the bot: Telegram sends it with date 0.
    const message = knownMessages.get(`${chatId}:${messageId}`) ?? {
      message_id: messageId,
      chat: chatOf(chatId),
      date: 0,
    };
    return pushUpdate({
      callback_query: {
        id,
        from,
        message,
        chat_instance: String(-(Math.abs(chatId) * 7919 + 13)),
        data,
      },
    });
  };

  const dispatch = (res: http.ServerResponse, call: TelegramCall, files: Map<string, UploadedFile>): void => {
    // A client that already left still gets its side effects (a sent message, a confirmed offset),
    // as on the real server: only the answer is lost.
    const { method, params } = call;
    try {
      switch (method) {
        case 'getUpdates':
          getUpdates(res, call, params);
          return;
        case 'sendMessage':
          ok(res, call, sendMessage(params));
          return;
        case 'getMe':
          ok(res, call, bot);
          return;
        case 'sendMessageDraft':
          ok(res, call, sendMessageDraft(params));
          return;
        case 'answerCallbackQuery':
          ok(res, call, answerCallbackQuery(params));
          return;
        case 'editMessageText':
          ok(res, call, editMessageText(params));
          return;
        case 'sendDocument':
          ok(res, call, sendDocument(params, files));
          return;
        case 'sendPhoto':
          ok(res, call, sendPhoto(params, files));
          return;
        case 'getFile':
          ok(res, call, getFile(params));
          return;
        case 'sendChatAction':
          threadOf(params, requireChatId(params));
          ok(res, call, true);
          return;
        case 'setMyCommands':
          ok(res, call, setMyCommands(params));
          return;
        case 'getMyCommands':
          ok(res, call, commands);
          return;
        case 'deleteMyCommands':
          commands = [];
          ok(res, call, true);
          return;
        case 'getWebhookInfo':
          ok(res, call, {
            url: webhookUrl,
            has_custom_certificate: false,
            pending_update_count: pending.length,
          });
          return;
        case 'setWebhook':
          webhookUrl = String(params.url ?? '');
          ok(res, call, true);
          return;
        case 'deleteWebhook':
          webhookUrl = '';
          if (params.drop_pending_updates === true) pending = [];
          ok(res, call, true);
          return;
        default:
          ok(res, call, true);
      }
    } catch (err) {
      if (!(err instanceof ApiRefusal)) throw err;
      refuse(res, call, err.errorCode, err.description);
    }
  };

  const takeFailure = (method: string, params: Record<string, unknown>): TelegramFailure | undefined => {
    const index = failures.findIndex((rule) => rule.method === method && (!rule.match || rule.match(params)));
    const rule = failures[index];
    if (!rule) return undefined;
    if (--rule.remaining <= 0) failures.splice(index, 1);
    return rule.failure;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = /^\/bot([^/]+)\/([A-Za-z0-9_]+)$/.exec(url.pathname);
    const body = await readBuffer(req);
    const fileRoute = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (fileRoute && req.method === 'GET') {
      let filePath: string;
      try {
        filePath = decodeURIComponent(fileRoute[2] ?? '');
      } catch {
        return refuse(res, undefined, 404, 'Not Found');
      }
      return serveFile(res, fileRoute[1] ?? '', filePath);
    }
    if (!route || (req.method !== 'POST' && req.method !== 'GET')) {
      refuse(res, undefined, 404, 'Not Found');
      return;
    }
    if (route[1] !== token) {
      refuse(res, undefined, 401, 'Unauthorized');
      return;
    }
    const method = KNOWN_METHODS.get((route[2] ?? '').toLowerCase());
    if (!method) {
      refuse(res, undefined, 404, 'Not Found');
      return;
    }
    if (body.length > MAX_UPLOAD_BYTES) {
      refuse(res, undefined, 413, 'Request Entity Too Large');
      return;
    }
    let decoded: { params: Record<string, unknown>; files: Map<string, UploadedFile> };
    try {
      decoded = decodeParams(url.searchParams, req.headers['content-type'], body);
    } catch {
      refuse(res, undefined, 400, "Bad Request: can't parse JSON object");
      return;
    }
    const { params, files } = decoded;
    const call: TelegramCall = { method, params, at: Date.now() };
    calls.push(call);
    // A method switched off answers like one the server never had, but the attempt is recorded.
    if (unknownMethods.has(method)) return refuse(res, call, 404, 'Not Found');
    if (latencyMs > 0) await sleep(latencyMs);
    const failure = takeFailure(method, params);
    if (failure && 'hang' in failure) return; // answered by close(), like a dead connection
    if (failure && 'delayMs' in failure) await sleep(failure.delayMs);
    else if (failure && 'httpStatus' in failure)
      return answer(res, call, failure.httpStatus, failure.body ?? '');
    else if (failure && 'errorCode' in failure) {
      const parameters = failure.retryAfter === undefined ? undefined : { retry_after: failure.retryAfter };
      return refuse(res, call, failure.errorCode, failure.description, parameters);
    }
    if (closed) return;
    dispatch(res, call, files);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      answer(res, undefined, 500, JSON.stringify({ ok: false, error_code: 500, description: String(err) }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const summary = (): string => {
    const counts = new Map<string, number>();
    for (const call of calls) counts.set(call.method, (counts.get(call.method) ?? 0) + 1);
    const callText = [...counts].map(([m, n]) => `${m}×${n}`).join(', ') || 'none';
    const lastSent = sent.slice(-3).map((m) => `${m.chatId}: ${JSON.stringify(m.text.slice(0, 80))}`);
    return `sent=${sent.length} [${lastSent.join('; ')}], pending=${pending.length}, calls: ${callText}, downloads=${downloads.length}`;
  };

  const waitFor = (predicate: () => boolean, timeoutMs = 10000, what = 'condition'): Promise<void> =>
    waitUntil(
      predicate,
      timeoutMs,
      () => `fake Telegram: timed out after ${timeoutMs} ms waiting for ${what}; ${summary()}`,
    );

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    bot,
    sent,
    calls,
    drafts,
    edits,
    callbackAnswers,
    documents,
    photos,
    files,
    downloads,
    get commands() {
      return commands;
    },
    get confirmedOffset() {
      return confirmedOffset;
    },
    pushMessage,
    pushUpdate,
    pushMedia,
    deleteMessage(chatId: number, messageId: number) {
      knownMessages.delete(`${chatId}:${messageId}`);
    },
    expireFileLinks() {
      for (const link of fileLinks.values()) link.expiresAt = 0;
    },
    pushCallbackQuery,
    expireCallbackQuery(id) {
      openQueries.delete(id);
    },
    setMethodUnknown(method, unknown = true) {
      const canonical = KNOWN_METHODS.get(method.toLowerCase()) ?? method;
      if (unknown) unknownMethods.add(canonical);
      else unknownMethods.delete(canonical);
    },
    message: (chatId, messageId) => sent.find((m) => m.chatId === chatId && m.messageId === messageId),
    pendingCount: () => pending.length,
    sentTo: (chatId) => sent.filter((m) => m.chatId === chatId),
    callsOf: (method) => calls.filter((c) => c.method === method),
    failNext(method, failure, times = 1, match) {
      const canonical = KNOWN_METHODS.get(method.toLowerCase()) ?? method;
      failures.push({ method: canonical, failure, remaining: times, match });
    },
    clearFailures: () => void failures.splice(0),
    setLatency(ms) {
      latencyMs = ms;
    },
    rejectFormatting(on) {
      refuseFormatting = on;
    },
    waitFor,
    waitForSent: (count, timeoutMs = 10000) =>
      waitFor(() => sent.length >= count, timeoutMs, `${count} sent message(s)`),
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      held = undefined;
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };
}

function chatOf(chatId: number, from?: Partial<User>): Chat {
  // Telegram's id ranges: users are positive, basic groups negative, supergroups/channels -100…
  if (chatId > 0) return { id: chatId, type: 'private', first_name: from?.first_name ?? 'Tester' };
  if (chatId <= -1000000000000) return { id: chatId, type: 'supergroup', title: 'Test supergroup' };
  return { id: chatId, type: 'group', title: 'Test group' };
}

function requireChatId(params: Record<string, unknown>): number {
  if (params.chat_id === undefined || params.chat_id === '')
    throw new ApiRefusal(400, 'Bad Request: chat_id is empty');
  const chatId = integer(params.chat_id);
  if (chatId === undefined || chatId === 0) throw new ApiRefusal(400, 'Bad Request: chat not found');
  return chatId;
}

function parseModeOf(params: Record<string, unknown>): string | undefined {
  return typeof params.parse_mode === 'string' && params.parse_mode !== '' ? params.parse_mode : undefined;
}

/** The text a user would see: HTML parsed like sendMessage parses it, refused the same way. */
function visibleText(raw: string, parseMode: string | undefined): string {
  if (!parseMode) return raw;
  const mode = parseMode.toLowerCase();
  if (mode === 'markdown' || mode === 'markdownv2') return raw;
  if (mode !== 'html') throw new ApiRefusal(400, 'Bad Request: unsupported parse_mode');
  const parsed = parseTelegramHtml(raw);
  if ('error' in parsed) throw new ApiRefusal(400, `Bad Request: can't parse entities: ${parsed.error}`);
  return parsed.text;
}

/** Validates `reply_markup.inline_keyboard` like Telegram; undefined when there are no buttons. */
function inlineKeyboard(markup: unknown): InlineKeyboardButton[][] | undefined {
  if (markup === undefined || markup === '') return undefined;
  if (!markup || typeof markup !== 'object')
    throw new ApiRefusal(400, "Bad Request: can't parse reply keyboard markup JSON object");
  const rows = (markup as { inline_keyboard?: unknown }).inline_keyboard;
  if (rows === undefined) return undefined;
  if (!Array.isArray(rows) || rows.some((row) => !Array.isArray(row)))
    throw new ApiRefusal(
      400,
      'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays',
    );
  const keyboard = rows as InlineKeyboardButton[][];
  for (const button of keyboard.flat()) {
    if (typeof button.text !== 'string' || button.text === '')
      throw new ApiRefusal(400, 'Bad Request: text buttons are unallowed in the inline keyboard');
    if (button.callback_data !== undefined) {
      const bytes = Buffer.byteLength(String(button.callback_data));
      if (bytes === 0 || bytes > MAX_CALLBACK_DATA_BYTES)
        throw new ApiRefusal(400, 'Bad Request: BUTTON_DATA_INVALID');
    } else if (button.url === undefined && button.copy_text === undefined && button.web_app === undefined) {
      throw new ApiRefusal(400, 'Bad Request: text buttons are unallowed in the inline keyboard');
    }
  }
  const nonEmpty = keyboard.filter((row) => row.length > 0);
  return nonEmpty.length > 0 ? nonEmpty : undefined;
}

/**
 * Whether the bytes are an image Telegram would make a photo of (JPEG, PNG, WebP, GIF, BMP, by
 * their signature), with its size: read from a PNG's header, nominal for the other types.
 */
function imageOf(data: Buffer): { width: number; height: number } | undefined {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (data.subarray(0, 8).equals(png)) {
    if (data.length < 24 || data.toString('latin1', 12, 16) !== 'IHDR') return undefined;
    return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
  }
  const jpeg = data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff;
  const webp = data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP';
  const other = /^(GIF8|BM)/.test(data.toString('latin1', 0, 4));
  return jpeg || webp || other ? { width: 1280, height: 960 } : undefined;
}

function integer(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value);
  return undefined;
}

/** A file part of a multipart request. */
interface UploadedFile {
  filename: string;
  contentType: string;
  data: Buffer;
}

/**
 * Reads params the way the Bot API does: query string, urlencoded form, multipart form (files
 * kept apart, each param recorded as `attach://<part>` when it was a file) or JSON body, merged.
 */
function decodeParams(
  query: URLSearchParams,
  contentType: string | undefined,
  body: Buffer,
): { params: Record<string, unknown>; files: Map<string, UploadedFile> } {
  const strings: Record<string, string> = Object.fromEntries(query);
  const files = new Map<string, UploadedFile>();
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  const text = (): string => body.toString('utf8');
  if (type === 'application/json' && text().trim() !== '') {
    const json: unknown = JSON.parse(text());
    if (json && typeof json === 'object')
      return { params: { ...coerce(strings), ...(json as Record<string, unknown>) }, files };
  } else if (type === 'application/x-www-form-urlencoded') {
    Object.assign(strings, Object.fromEntries(new URLSearchParams(text())));
  } else if (type === 'multipart/form-data') {
    const marker = multipartBoundary(contentType);
    if (!marker) throw new Error('multipart body without a boundary');
    for (const part of parseMultipart(body, marker)) {
      if (part.filename === undefined) strings[part.name] = part.data.toString('utf8');
      else {
        files.set(part.name, { filename: part.filename, contentType: part.contentType, data: part.data });
        strings[part.name] ??= `attach://${part.name}`;
      }
    }
  }
  return { params: coerce(strings), files };
}

function coerce(strings: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(strings)) {
    if (INTEGER_PARAMS.has(key) && /^-?\d+$/.test(value)) out[key] = Number(value);
    else if (BOOLEAN_PARAMS.has(key) && (value === 'true' || value === 'false')) out[key] = value === 'true';
    else if (/^\s*[[{]/.test(value)) {
      // Structured fields (reply_parameters, allowed_updates, reply_markup) arrive as JSON strings.
      try {
        out[key] = JSON.parse(value);
      } catch {
        out[key] = value;
      }
    } else out[key] = value;
  }
  return out;
}

const HTML_TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'span',
  'tg-spoiler',
  'a',
  'code',
  'pre',
  'blockquote',
  'tg-emoji',
]);
const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

/**
 * Parses Telegram's HTML subset like the Bot API (tag set, attributes, nesting, entities) and
 * returns the visible text or the server's error sentence. Stricter than the server in one place,
 * on purpose: a bare `&` is refused, as the documentation requires it to be escaped.
 */
export function parseTelegramHtml(html: string): { text: string } | { error: string } {
  const byteOffset = (index: number): number => Buffer.byteLength(html.slice(0, index));
  const open: string[] = [];
  let text = '';
  let i = 0;
  while (i < html.length) {
    const c = html[i];
    if (c === '&') {
      const entity = /^&(?:(lt|gt|amp|quot)|#(\d+)|#x([0-9a-fA-F]+));?/.exec(html.slice(i));
      if (!entity)
        return { error: `Unsupported HTML entity at byte offset ${byteOffset(i)}; escape "&" as "&amp;"` };
      if (entity[1]) text += NAMED_ENTITIES[entity[1]] ?? '';
      else text += String.fromCodePoint(Number.parseInt(entity[2] ?? entity[3] ?? '0', entity[2] ? 10 : 16));
      i += entity[0].length;
      continue;
    }
    if (c !== '<') {
      text += c;
      i++;
      continue;
    }
    const begin = i;
    const end = html.indexOf('>', i);
    if (html[i + 1] === '/') {
      if (open.length === 0) return { error: `Unexpected end tag at byte offset ${byteOffset(begin)}` };
      if (end < 0) return { error: `Unclosed end tag at byte offset ${byteOffset(begin)}` };
      const name = html
        .slice(i + 2, end)
        .trim()
        .toLowerCase();
      const expected = open.pop() ?? '';
      if (name !== '' && name !== expected) {
        return {
          error: `Unmatched end tag at byte offset ${byteOffset(begin)}, expected "</${expected}>", found "</${name}>"`,
        };
      }
      i = end + 1;
      continue;
    }
    // The tag name runs to a space or '>'; running off the end of the text is an unclosed tag.
    const rawName = /^[^\s>]*/.exec(html.slice(i + 1))?.[0] ?? '';
    const name = rawName.toLowerCase();
    if (i + 1 + rawName.length >= html.length)
      return { error: `Unclosed start tag at byte offset ${byteOffset(begin)}` };
    if (!HTML_TAGS.has(name))
      return { error: `Unsupported start tag "${name}" at byte offset ${byteOffset(begin)}` };
    if (end < 0) return { error: `Unclosed start tag at byte offset ${byteOffset(begin)}` };
    const attributes = html.slice(i + 1 + name.length, end);
    if (name === 'span' && !/\bclass\s*=\s*(["']?)tg-spoiler\1/i.test(attributes)) {
      return { error: `Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(begin)}` };
    }
    open.push(name);
    i = end + 1;
  }
  const unclosed = open.at(-1);
  if (unclosed) return { error: `Can't find end tag corresponding to start tag "${unclosed}"` };
  return { text };
}
