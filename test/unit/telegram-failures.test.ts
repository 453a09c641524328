/**
 * The Telegram port's failure rules, one case per rule, each fed the error the library throws for
 * a real Bot API answer (or a real network failure), and asserting the typed failure and the
 * fate it gives the item: transient (retried), permanent (dead), fatal (the worker exits 78).
 */
import { NetworkError, ParseError, TelegramApiError, TimeoutError } from 'node-telegram-bot-api';
import { EdgeError, type ErrorClass } from '../../src/worker/errors';
import {
  FAILURE_RULES,
  TelegramError,
  classifyTelegramError,
  isTelegramFailure,
  type TelegramFailure,
} from '../../src/worker/telegram/failures';

// Shaped like a real bot token, but made up here.
const TOKEN = '987654321:AAHk3rT9xQ_example-token-0123456789abc';

function refusal(status: number, description: string, retryAfter?: number): TelegramApiError {
  return new TelegramApiError(
    status,
    description,
    retryAfter === undefined ? undefined : { retry_after: retryAfter },
  );
}

function systemError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

interface Case {
  readonly rule: TelegramFailure;
  readonly what: string;
  readonly method: string;
  readonly error: unknown;
  readonly errorClass: ErrorClass;
  readonly code: string;
  readonly retryAfterMs?: number;
}

const CASES: readonly Case[] = [
  {
    rule: 'drafts_unsupported',
    what: 'a draft to a chat without drafts (400 TEXTDRAFT_PEER_INVALID)',
    method: 'sendMessageDraft',
    error: refusal(400, 'Bad Request: TEXTDRAFT_PEER_INVALID'),
    errorClass: 'permanent',
    code: 'drafts_unsupported',
  },
  {
    rule: 'drafts_unsupported',
    what: 'a draft to a server that does not know the method (404)',
    method: 'sendMessageDraft',
    error: refusal(404, 'Not Found: method not found'),
    errorClass: 'permanent',
    code: 'drafts_unsupported',
  },
  {
    rule: 'message_not_modified',
    what: 'an edit that changes nothing',
    method: 'editMessageText',
    error: refusal(
      400,
      'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    ),
    errorClass: 'permanent',
    code: 'message_not_modified',
  },
  {
    rule: 'query_too_old',
    what: 'a button press answered too late or twice',
    method: 'answerCallbackQuery',
    error: refusal(400, 'Bad Request: query is too old and response timeout expired or query ID is invalid'),
    errorClass: 'permanent',
    code: 'query_too_old',
  },
  {
    rule: 'file_too_big',
    what: 'an upload over the limit (413)',
    method: 'sendDocument',
    error: refusal(413, 'Request Entity Too Large'),
    errorClass: 'permanent',
    code: 'file_too_big',
  },
  {
    rule: 'file_too_big',
    what: 'an upload over the limit (400 file is too big)',
    method: 'sendDocument',
    error: refusal(400, 'Bad Request: file is too big'),
    errorClass: 'permanent',
    code: 'file_too_big',
  },
  {
    rule: 'reply_missing',
    what: 'a reply to a deleted message in a forum topic (400 message to be replied not found)',
    method: 'sendMessage',
    error: refusal(400, 'Bad Request: message to be replied not found'),
    errorClass: 'permanent',
    code: 'reply_missing',
  },
  {
    rule: 'reply_missing',
    what: 'a photo replying to a deleted message: not a refusal of the photo',
    method: 'sendPhoto',
    error: refusal(400, 'Bad Request: message to be replied not found'),
    errorClass: 'permanent',
    code: 'reply_missing',
  },
  {
    rule: 'photo_refused',
    what: 'a photo Telegram will not make (400 PHOTO_INVALID_DIMENSIONS)',
    method: 'sendPhoto',
    error: refusal(400, 'Bad Request: PHOTO_INVALID_DIMENSIONS'),
    errorClass: 'permanent',
    code: '400',
  },
  {
    rule: 'refused',
    what: 'a photo to a chat that is gone (400 chat not found): no photo_refused',
    method: 'sendPhoto',
    error: refusal(400, 'Bad Request: chat not found'),
    errorClass: 'permanent',
    code: '400',
  },
  {
    rule: 'file_link_expired',
    what: 'an expired download link (404 from the file server), not a wrong token',
    method: 'file download',
    error: refusal(404, 'Not Found'),
    errorClass: 'transient',
    code: '404',
  },
  {
    rule: 'button_data_invalid',
    what: 'a button with callback_data Telegram refuses',
    method: 'sendMessage',
    error: refusal(400, 'Bad Request: BUTTON_DATA_INVALID'),
    errorClass: 'permanent',
    code: 'button_data_invalid',
  },
  {
    rule: 'bad_token',
    what: 'a wrong token (401)',
    method: 'getUpdates',
    error: refusal(401, 'Unauthorized'),
    errorClass: 'fatal',
    code: '401',
  },
  {
    rule: 'bad_token',
    what: 'a method Telegram must know answering 404',
    method: 'getMe',
    error: refusal(404, 'Not Found'),
    errorClass: 'fatal',
    code: '404',
  },
  {
    rule: 'flood_wait',
    what: 'a flood wait with parameters.retry_after',
    method: 'sendMessage',
    error: refusal(429, 'Too Many Requests: retry after 3', 3),
    errorClass: 'transient',
    code: '429',
    retryAfterMs: 3000,
  },
  {
    rule: 'parse_entities',
    what: 'HTML Telegram cannot parse',
    method: 'sendMessage',
    error: refusal(
      400,
      "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 12",
    ),
    errorClass: 'permanent',
    code: 'parse_entities',
  },
  {
    rule: 'parse_entities',
    what: 'an unsupported tag',
    method: 'editMessageText',
    error: refusal(400, 'Bad Request: can\'t parse entities: Unsupported start tag "div" at byte offset 0'),
    errorClass: 'permanent',
    code: 'parse_entities',
  },
  {
    rule: 'server_error',
    what: "Telegram's internal error (500)",
    method: 'sendMessage',
    error: refusal(500, 'Internal Server Error'),
    errorClass: 'transient',
    code: '500',
  },
  {
    rule: 'server_error',
    what: 'a bad gateway answered as JSON (502)',
    method: 'getUpdates',
    error: refusal(502, 'Bad Gateway'),
    errorClass: 'transient',
    code: '502',
  },
  {
    rule: 'conflict',
    what: 'another instance polling the bot (409)',
    method: 'getUpdates',
    error: refusal(
      409,
      'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
    ),
    errorClass: 'transient',
    code: '409',
  },
  {
    rule: 'refused',
    what: 'a chat that does not exist (400)',
    method: 'sendMessage',
    error: refusal(400, 'Bad Request: chat not found'),
    errorClass: 'permanent',
    code: '400',
  },
  {
    rule: 'refused',
    what: 'a user who blocked the bot (403)',
    method: 'sendMessage',
    error: refusal(403, 'Forbidden: bot was blocked by the user'),
    errorClass: 'permanent',
    code: '403',
  },
  {
    rule: 'refused',
    what: 'sendMessage answering 404 (a chat gone, not a wrong token)',
    method: 'sendMessage',
    error: refusal(404, 'Not Found'),
    errorClass: 'permanent',
    code: '404',
  },
  {
    rule: 'timeout',
    what: 'no answer within the client timeout',
    method: 'getUpdates',
    error: new TimeoutError('Request timed out after 30000ms'),
    errorClass: 'transient',
    code: 'timeout',
  },
  {
    rule: 'network',
    what: 'a connection reset (ECONNRESET)',
    method: 'sendMessage',
    error: new NetworkError('fetch failed', { cause: systemError('ECONNRESET', 'read ECONNRESET') }),
    errorClass: 'transient',
    code: 'network',
  },
  {
    rule: 'network',
    what: 'a connect timeout (ETIMEDOUT)',
    method: 'sendMessage',
    error: new NetworkError('fetch failed', {
      cause: systemError('ETIMEDOUT', 'connect ETIMEDOUT 149.154.167.220:443'),
    }),
    errorClass: 'transient',
    code: 'network',
  },
  {
    rule: 'network',
    what: 'a name that does not resolve (ENOTFOUND)',
    method: 'getUpdates',
    error: new NetworkError('fetch failed', {
      cause: systemError('ENOTFOUND', 'getaddrinfo ENOTFOUND api.telegram.org'),
    }),
    errorClass: 'transient',
    code: 'network',
  },
  {
    rule: 'network',
    what: "a proxy's HTML page instead of JSON",
    method: 'sendDocument',
    error: new ParseError('Unexpected token < in JSON', { responseText: '<html>502 Bad Gateway</html>' }),
    errorClass: 'transient',
    code: 'network',
  },
  {
    rule: 'unknown',
    what: 'anything else thrown',
    method: 'sendMessage',
    error: new Error('something odd'),
    errorClass: 'transient',
    code: 'unknown',
  },
];

describe('Telegram failure rules', () => {
  it.each(CASES.map((c) => [c.rule, c.what, c] as const))('%s: %s', (_rule, _what, c) => {
    const err = classifyTelegramError(c.error, c.method);
    expect(err).toBeInstanceOf(TelegramError);
    expect(err).toMatchObject({
      failure: c.rule,
      errorClass: c.errorClass,
      service: 'telegram',
      code: c.code,
      retryAfterMs: c.retryAfterMs,
    });
    expect(isTelegramFailure(err, c.rule)).toBe(true);
  });

  it('has a case above for every rule of the table', () => {
    const covered = new Set(CASES.map((c) => c.rule));
    expect(FAILURE_RULES.map((rule) => rule.failure).filter((f) => !covered.has(f))).toEqual([]);
  });

  it('reads a draft refusal before the 404 that would otherwise say the token is wrong', () => {
    const draftIndex = FAILURE_RULES.findIndex((r) => r.failure === 'drafts_unsupported');
    const tokenIndex = FAILURE_RULES.findIndex((r) => r.failure === 'bad_token');
    expect(draftIndex).toBeLessThan(tokenIndex);
    expect(FAILURE_RULES[FAILURE_RULES.length - 1]?.failure).toBe('unknown');
  });

  it('leaves a flood wait without retry_after to the queue backoff', () => {
    const err = classifyTelegramError(refusal(429, 'Too Many Requests'), 'sendMessage');
    expect(err).toMatchObject({ failure: 'flood_wait', errorClass: 'transient', code: '429' });
    expect(err.retryAfterMs).toBeUndefined();
  });

  it('says what failed, with the cause of a network failure, and tells the operator how to fix a bad token', () => {
    expect(
      classifyTelegramError(refusal(403, 'Forbidden: bot was blocked by the user'), 'sendMessage').message,
    ).toBe('Telegram sendMessage failed: 403 Forbidden: bot was blocked by the user');
    expect(classifyTelegramError(new TimeoutError(), 'getUpdates').message).toBe(
      'Telegram getUpdates timed out.',
    );
    const reset = new NetworkError('fetch failed', { cause: systemError('ECONNRESET', 'read ECONNRESET') });
    expect(classifyTelegramError(reset, 'sendMessage').message).toBe(
      'Telegram sendMessage failed: fetch failed: read ECONNRESET',
    );
    expect(classifyTelegramError(refusal(401, 'Unauthorized'), 'getUpdates').message).toBe(
      'Telegram rejected the bot token (401 Unauthorized): set TELEGRAM_BOT_TOKEN to the token @BotFather gave you.',
    );
  });

  it('keeps the token out of the message when an error quotes the URL', () => {
    const cause = new Error(`connect ECONNREFUSED for https://api.telegram.org/bot${TOKEN}/getUpdates`);
    const err = classifyTelegramError(new NetworkError('fetch failed', { cause }), 'getUpdates');
    expect(err.message).not.toContain(TOKEN.split(':')[1]);
    const refused = classifyTelegramError(refusal(400, `Bad Request: ${TOKEN}`), 'sendMessage');
    expect(refused.message).not.toContain(TOKEN.split(':')[1]);
  });

  it('passes an error classified already through unchanged', () => {
    const edge = new EdgeError('permanent', 'telegram', 'file_unreadable', 'Cannot read a.txt.');
    expect(classifyTelegramError(edge, 'sendDocument')).toBe(edge);
  });

  it('asks for a failure by name, not by code', () => {
    const flood = classifyTelegramError(refusal(429, 'Too Many Requests: retry after 1', 1), 'sendMessage');
    expect(isTelegramFailure(flood, 'flood_wait')).toBe(true);
    expect(isTelegramFailure(flood, 'parse_entities', 'flood_wait')).toBe(true);
    expect(isTelegramFailure(flood, 'conflict')).toBe(false);
    // an EdgeError of another edge with the same code is not a Telegram flood wait
    expect(isTelegramFailure(new EdgeError('transient', 'openai', '429', 'slow down'), 'flood_wait')).toBe(
      false,
    );
    expect(isTelegramFailure(new Error('x'), 'unknown')).toBe(false);
  });
});
