// What a failed Bot API call means for the work that made it. Every failure of the port (a
// refusal by Telegram, a network failure, a check of our own before sending) becomes one typed
// `TelegramError`; its class decides the item's fate the way every `EdgeError` does, and callers
// that react to one particular failure ask for it by name instead of comparing codes.

import { NetworkError, ParseError, TelegramApiError, TimeoutError } from 'node-telegram-bot-api';
import { redact } from '../../shared/redact';
import { causeChain, EdgeError, type ErrorClass } from '../errors';

/** Every failure the port tells apart. */
export type TelegramFailure =
  /** 429: Telegram asks us to wait `retryAfterMs` before calling again. */
  | 'flood_wait'
  /** 401, or 404 for a method Telegram must know: the token is wrong, nothing works until it is fixed. */
  | 'bad_token'
  /** 409: another instance polls this bot, or a webhook is set. */
  | 'conflict'
  /** 5xx: Telegram's own trouble. */
  | 'server_error'
  /** Any other refusal (400 chat not found, 403 blocked, ...): retrying cannot help. */
  | 'refused'
  /** Telegram does not offer drafts to this bot or chat (unknown method, TEXTDRAFT_PEER_INVALID). */
  | 'drafts_unsupported'
  /** An edit that would change nothing. */
  | 'message_not_modified'
  /** A callback query answered too late or twice: the press itself still counts. */
  | 'query_too_old'
  /** A reply to a message that is gone (in a forum topic, even when sending without it is allowed). */
  | 'reply_missing'
  /**
   * A file over a limit: Telegram's for uploads (50 MB, photos 10 MB), getFile's 20 MB, or the
   * size the caller allows a download.
   */
  | 'file_too_big'
  /**
   * Telegram refused a photo itself (its dimensions, format or contents: PHOTO_INVALID_DIMENSIONS,
   * IMAGE_PROCESS_FAILED, ...); the same bytes may still go as a document.
   */
  | 'photo_refused'
  /**
   * The file server answered 404: the download link getFile gave has expired (links last about an
   * hour) or never existed. A new getFile gives a fresh link, so the next attempt may succeed.
   */
  | 'file_link_expired'
  /** A button whose callback_data Telegram would refuse. */
  | 'button_data_invalid'
  /** Telegram refused the formatting (parse_mode); the plain text may still go. */
  | 'parse_entities'
  /** A file to upload, or one a local Bot API server points at, that is missing or no regular file. */
  | 'file_unreadable'
  /** No answer within the client's timeout. */
  | 'timeout'
  /** The request or its answer was lost on the way (DNS, reset, a proxy's HTML page). */
  | 'network'
  /** Anything else thrown while calling. */
  | 'unknown';

/** Telegram refused the formatting of a message (parse_mode); the plain text may still go. */
export const PARSE_ENTITIES = 'parse_entities' satisfies TelegramFailure;
/** Telegram does not offer drafts to this bot or chat (unknown method, TEXTDRAFT_PEER_INVALID): stop drafting. */
export const DRAFTS_UNSUPPORTED = 'drafts_unsupported' satisfies TelegramFailure;
/** A callback query answered too late or twice: nothing to retry, the press itself still counts. */
export const QUERY_TOO_OLD = 'query_too_old' satisfies TelegramFailure;
/** An edit that would change nothing; `editMessageText` treats it as success. */
export const MESSAGE_NOT_MODIFIED = 'message_not_modified' satisfies TelegramFailure;
/** A file over Telegram's upload or download limit, or over what the caller allows a download. */
export const FILE_TOO_BIG = 'file_too_big' satisfies TelegramFailure;
/** Telegram refused a photo itself (dimensions, format, contents): the same bytes may go as a document. */
export const PHOTO_REFUSED = 'photo_refused' satisfies TelegramFailure;
/** The download link of a file expired or is unknown: the next attempt asks getFile for a new one. */
export const FILE_LINK_EXPIRED = 'file_link_expired' satisfies TelegramFailure;
/** A file that is missing or no regular file (an upload, or a path a local Bot API server gave). */
export const FILE_UNREADABLE = 'file_unreadable' satisfies TelegramFailure;

/**
 * What the rules call a file download, which is no Bot API method: the GET of
 * `/file/bot<token>/<file_path>`, or the read of a local Bot API server's absolute path.
 */
export const FILE_DOWNLOAD = 'file download';
/** A button whose callback_data Telegram would refuse (over 64 bytes, or empty), refused before sending. */
export const BUTTON_DATA_INVALID = 'button_data_invalid' satisfies TelegramFailure;

/** A failure of the Telegram port: an `EdgeError` (class, code, wait) that also names its failure. */
export class TelegramError extends EdgeError {
  constructor(
    readonly failure: TelegramFailure,
    errorClass: ErrorClass,
    /** What the inbox row records: Telegram's error_code, or the failure's own name. */
    code: string,
    message: string,
    retryAfterMs?: number,
  ) {
    super(errorClass, 'telegram', code, message, retryAfterMs);
    this.name = 'TelegramError';
  }
}

/** Whether `err` is a Telegram failure of one of `failures`. */
export function isTelegramFailure(err: unknown, ...failures: TelegramFailure[]): err is TelegramError {
  return err instanceof TelegramError && failures.includes(err.failure);
}

/** A failed call as the rules see it, whatever the library threw. */
export type Fault =
  /** Telegram answered `ok: false`. */
  | {
      readonly kind: 'refusal';
      readonly method: string;
      readonly status: number;
      readonly description: string;
      readonly retryAfterSeconds?: number;
    }
  | { readonly kind: 'timeout'; readonly method: string }
  /** No usable answer: `detail` is the error and its causes. */
  | { readonly kind: 'network'; readonly method: string; readonly detail: string }
  | { readonly kind: 'unknown'; readonly method: string; readonly detail: string };

type Refusal = Extract<Fault, { kind: 'refusal' }>;

/** One line of the table: when it applies, and what the failure is then. */
export interface FailureRule {
  readonly failure: TelegramFailure;
  readonly errorClass: ErrorClass;
  readonly when: (fault: Fault) => boolean;
  /** The code the inbox records; the failure's name when absent. */
  readonly code?: (fault: Fault) => string;
  /** The sentence for the operator; "Telegram <method> failed: <what>" when absent. */
  readonly message?: (fault: Fault) => string;
  /** Whether the failure carries Telegram's `retry_after` as the wait before the next try. */
  readonly waits?: boolean;
}

function refusal(test: (r: Refusal) => boolean): (fault: Fault) => boolean {
  return (fault) => fault.kind === 'refusal' && test(fault);
}

const statusCode = (fault: Fault): string => (fault.kind === 'refusal' ? String(fault.status) : fault.kind);

// A 400 to sendPhoto that is about the chat, the reply or the caption, not the image: a document
// would be refused the same way.
const NOT_THE_PHOTO = /chat|thread|topic|repl|caption|rights|peer/i;

/** The last rule: whatever else was thrown is worth another try. */
const UNKNOWN: FailureRule = { failure: 'unknown', errorClass: 'transient', when: () => true };

/**
 * The rules, first match wins, so the order is part of the meaning: a refusal of a draft is read
 * before the 404 that would otherwise say the token is wrong, and the particular 400s before the
 * catch-all refusal.
 */
export const FAILURE_RULES: readonly FailureRule[] = [
  {
    // Drafts are new (Bot API 9.3) and private-chat only: an old server answers 404 for the
    // method, a chat without drafts TEXTDRAFT_PEER_INVALID. Neither says the token is wrong.
    failure: DRAFTS_UNSUPPORTED,
    errorClass: 'permanent',
    when: refusal(
      (r) =>
        r.method === 'sendMessageDraft' &&
        (r.status === 404 || (r.status === 400 && /draft|method/i.test(r.description))),
    ),
  },
  {
    failure: MESSAGE_NOT_MODIFIED,
    errorClass: 'permanent',
    when: refusal((r) => r.status === 400 && /message is not modified/i.test(r.description)),
  },
  {
    failure: QUERY_TOO_OLD,
    errorClass: 'permanent',
    when: refusal((r) => r.status === 400 && /query is too old|query id is invalid/i.test(r.description)),
  },
  {
    failure: FILE_TOO_BIG,
    errorClass: 'permanent',
    when: refusal((r) => r.status === 413 || (r.status === 400 && /file is too big/i.test(r.description))),
  },
  {
    failure: BUTTON_DATA_INVALID,
    errorClass: 'permanent',
    when: refusal((r) => r.status === 400 && /BUTTON_DATA_INVALID/.test(r.description)),
  },
  {
    // a topic refuses a reply to a deleted message whatever allow_sending_without_reply says: the
    // client sends again without the reply
    failure: 'reply_missing',
    errorClass: 'permanent',
    when: refusal(
      (r) =>
        r.status === 400 &&
        /message to be replied not found|REPLY_MESSAGE_ID_INVALID|reply message not found/i.test(
          r.description,
        ),
    ),
  },
  {
    // PHOTO_INVALID_DIMENSIONS, IMAGE_PROCESS_FAILED, PHOTO_EXT_INVALID, PHOTO_SAVE_FILE_INVALID...:
    // Telegram would not make a photo of these bytes, but it takes them as a document
    failure: PHOTO_REFUSED,
    errorClass: 'permanent',
    when: refusal((r) => r.method === 'sendPhoto' && r.status === 400 && !NOT_THE_PHOTO.test(r.description)),
    code: statusCode,
  },
  {
    // the file server's 404 means the link, not the token: links expire, and getFile renews them
    failure: FILE_LINK_EXPIRED,
    errorClass: 'transient',
    when: refusal((r) => r.method === FILE_DOWNLOAD && r.status === 404),
    code: statusCode,
    message: () =>
      "Telegram's download link for the file has expired or is unknown; the next attempt asks getFile for a new one.",
  },
  {
    // sendMessage answers 404 for a chat that is gone; any other method's 404 means the URL,
    // and so the token in it, is wrong
    failure: 'bad_token',
    errorClass: 'fatal',
    when: refusal((r) => r.status === 401 || (r.status === 404 && r.method !== 'sendMessage')),
    code: statusCode,
    message: (fault) =>
      `Telegram rejected the bot token (${whatFailed(fault)}): set TELEGRAM_BOT_TOKEN to the token @BotFather gave you.`,
  },
  {
    failure: 'flood_wait',
    errorClass: 'transient',
    when: refusal((r) => r.status === 429),
    code: statusCode,
    waits: true,
  },
  {
    failure: PARSE_ENTITIES,
    errorClass: 'permanent',
    when: refusal(
      (r) =>
        r.status === 400 &&
        /can't parse entities|can't find end|unsupported start tag|entity/i.test(r.description),
    ),
  },
  {
    failure: 'server_error',
    errorClass: 'transient',
    when: refusal((r) => r.status >= 500),
    code: statusCode,
  },
  {
    failure: 'conflict',
    errorClass: 'transient',
    when: refusal((r) => r.status === 409),
    code: statusCode,
  },
  {
    // 400 (chat not found, message too long, ...), 403 (blocked, kicked): retrying cannot help
    failure: 'refused',
    errorClass: 'permanent',
    when: (fault) => fault.kind === 'refusal',
    code: statusCode,
  },
  {
    failure: 'timeout',
    errorClass: 'transient',
    when: (fault) => fault.kind === 'timeout',
    message: (fault) => `Telegram ${fault.method} timed out.`,
  },
  { failure: 'network', errorClass: 'transient', when: (fault) => fault.kind === 'network' },
  UNKNOWN,
];

/** Maps any failure of a Bot API call to a `TelegramError` by the first rule that matches. */
export function classifyTelegramError(err: unknown, method: string): EdgeError {
  if (err instanceof EdgeError) return err;
  const fault = faultOf(err, method);
  const rule = FAILURE_RULES.find((r) => r.when(fault)) ?? UNKNOWN;
  const retryAfter = fault.kind === 'refusal' ? fault.retryAfterSeconds : undefined;
  return new TelegramError(
    rule.failure,
    rule.errorClass,
    rule.code?.(fault) ?? rule.failure,
    // one redaction over the whole sentence: a description or a cause may quote a URL with the token
    redact(rule.message?.(fault) ?? `Telegram ${method} failed: ${whatFailed(fault)}`),
    rule.waits === true && retryAfter !== undefined ? retryAfter * 1000 : undefined,
  );
}

/** The error the library threw, as a fault the rules read. */
export function faultOf(err: unknown, method: string): Fault {
  if (err instanceof TelegramApiError) {
    return {
      kind: 'refusal',
      method,
      status: err.errorCode,
      description: err.description,
      ...(err.retryAfter !== undefined ? { retryAfterSeconds: err.retryAfter } : {}),
    };
  }
  if (err instanceof TimeoutError) return { kind: 'timeout', method };
  if (err instanceof NetworkError || err instanceof ParseError) {
    return { kind: 'network', method, detail: causeChain(err) };
  }
  return { kind: 'unknown', method, detail: err instanceof Error ? err.message : String(err) };
}

function whatFailed(fault: Fault): string {
  switch (fault.kind) {
    case 'refusal':
      return `${fault.status} ${fault.description}`;
    case 'timeout':
      return 'timed out';
    case 'network':
    case 'unknown':
      return fault.detail;
  }
}
