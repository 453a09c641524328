// OpenAI failures classified at the edge: the class decides the item's fate (see ../errors.ts).
// Compatible servers say what went wrong in their body more often than in their status (Groq's
// tool_use_failed is a 400, OpenRouter's "Token limit reached" arrives inside a 200 stream), so
// the rules read both, in the stream and out of it, from one table.

import OpenAI, { type APIError } from 'openai';
import { redact } from '../../shared/redact';
import { causeChain, ContextTooLongError, EdgeError, type ErrorClass } from '../errors';

/** Every failure of the model's server the rules tell apart. */
export type ModelFailure =
  /** The request is longer than the model's window: the run compacts its session and asks again. */
  | 'context_too_long'
  /** The account is out of credit or quota: nothing works until the operator tops it up. */
  | 'credit_limit'
  /** The answer ran into the token limit: the same request would run into it again. */
  | 'output_limit'
  /** The model wrote a tool call the server refused: the next try may write a valid one. */
  | 'invalid_tool_call'
  /** A content filter or moderation refused the request or the answer. */
  | 'content_filter'
  /** 401, 403: the key is wrong or lacks access. */
  | 'bad_key'
  /** 404: a wrong model name or URL. */
  | 'model_not_found'
  /** 429: too many requests or tokens for now. */
  | 'rate_limited'
  /** 503, 529, "overloaded": the server has no room for us now. */
  | 'overloaded'
  /** 5xx, 408, 409: the server's own trouble. */
  | 'server_error'
  /** Any other 4xx: the request itself is refused, and asking again cannot help. */
  | 'refused'
  /** No status to go by (most errors inside a stream): the server broke down mid-answer. */
  | 'unknown';

/** A failure reported by the model's server, as the rules see it. */
export interface ModelFault {
  /** In the HTTP status line, or inside a stream that had started (HTTP 200). */
  readonly where: 'http' | 'stream';
  /** The HTTP status; inside a stream, the status the error carried (`status_code`, a numeric `code`). */
  readonly status: number | undefined;
  /** The provider's code when it is a word (`context_length_exceeded`, `tool_use_failed`). */
  readonly code: string | undefined;
  /** The provider's error type (`invalid_request_error`, `overloaded_error`). */
  readonly type: string | undefined;
  /**
   * The provider's own words: its message, and what it passed on from upstream (OpenRouter's
   * `metadata.raw`); undefined when the body said nothing (no JSON, no message).
   */
  readonly said: string | undefined;
}

/** One line of the table: when it applies, and what the failure is then. */
export interface ModelFailureRule {
  readonly failure: ModelFailure;
  /**
   * The item's fate; `context_too_long` becomes a `ContextTooLongError` (permanent, marked) for a
   * call that compacts (`OpenAICall.compacts`).
   */
  readonly errorClass: ErrorClass;
  readonly when: (fault: ModelFault) => boolean;
  /** For a rule that pauses processing: what the operator must fix first, for the call that failed. */
  readonly fix?: string | ((call: OpenAICall) => string);
  /** Whether a wait the server asked for (Retry-After on an HTTP error) is kept. */
  readonly waits?: boolean;
}

const words =
  (pattern: RegExp) =>
  (fault: ModelFault): boolean =>
    fault.said !== undefined && pattern.test(fault.said);

const status =
  (...statuses: number[]) =>
  (fault: ModelFault): boolean =>
    fault.status !== undefined && statuses.includes(fault.status);

// Providers put the same fact in `code` or in `type` (Anthropic-style `overloaded_error`).
const named =
  (...names: string[]) =>
  (fault: ModelFault): boolean =>
    (fault.code !== undefined && names.includes(fault.code)) ||
    (fault.type !== undefined && names.includes(fault.type));

const any =
  (...tests: ((fault: ModelFault) => boolean)[]) =>
  (fault: ModelFault): boolean =>
    tests.some((test) => test(fault));

// A rate limit counts tokens per minute in words much like a context error's ("tokens"): a 429
// is never read as a request too long or an answer cut off.
const notRateLimited = (fault: ModelFault): boolean => fault.status !== 429;

/**
 * The rules, first match wins, so the order is part of the meaning: what the body says is read
 * before the status that would otherwise decide (a 429 out of quota is no rate limit, a 403 from
 * moderation no bad key, a 400 tool_use_failed no refusal), and the statuses before the catch-all.
 */
export const MODEL_FAILURE_RULES: readonly ModelFailureRule[] = [
  {
    failure: 'context_too_long',
    errorClass: 'permanent',
    when: any(
      named('context_length_exceeded', 'exceed_context_size_error'),
      // 413: the request is too large, which a shorter session cures as well
      status(413),
      (fault) =>
        notRateLimited(fault) &&
        words(
          /maximum context length|context[ _]length|context window|context size|context limit|too many tokens|prompt is too long|reduce the length/i,
        )(fault),
    ),
  },
  {
    // The account's state, not the message's: every message would fail alike until it is topped
    // up, so processing waits (no attempt burnt, nothing dead-lettered) as for OpenAI's
    // insufficient_quota. A 402 is the same fact told by other servers (OpenRouter, DeepSeek).
    failure: 'credit_limit',
    errorClass: 'paused',
    when: any(
      status(402),
      named('insufficient_quota', 'insufficient_balance', 'billing_hard_limit_reached'),
      words(
        /insufficient[ _](credits?|balance|quota|funds)|exceeded your current quota|credit (limit|balance)|more credits/i,
      ),
    ),
    fix: "the account of OPENAI_API_KEY has credit (or quota) again; the account's billing page says how",
  },
  {
    failure: 'output_limit',
    errorClass: 'permanent',
    when: (fault) =>
      notRateLimited(fault) &&
      words(/token limit reached|max_tokens|max_completion_tokens|maximum (output|completion) tokens/i)(
        fault,
      ),
  },
  {
    failure: 'invalid_tool_call',
    errorClass: 'transient',
    when: any(
      named('tool_use_failed'),
      words(/tool call validation failed|failed to call a function|invalid tool call/i),
    ),
  },
  {
    failure: 'content_filter',
    errorClass: 'permanent',
    when: any(
      named('content_filter', 'content_policy_violation', 'responsible_ai_policy_violation'),
      words(/content management policy|content[ _]filter|content policy|safety system|flagged|moderation/i),
    ),
  },
  {
    failure: 'bad_key',
    errorClass: 'paused',
    when: status(401, 403),
    fix: 'OPENAI_API_KEY is fixed',
  },
  {
    // A wrong model name or URL is configuration: dead-lettering every message would not fix it
    failure: 'model_not_found',
    errorClass: 'paused',
    when: any(status(404), named('model_not_found')),
    fix: (call) => `${call.modelSettings} is fixed`,
  },
  {
    failure: 'rate_limited',
    errorClass: 'transient',
    when: any(status(429), named('rate_limit_exceeded', 'rate_limit_error'), words(/rate[- _]limit/i)),
    waits: true,
  },
  {
    failure: 'overloaded',
    errorClass: 'transient',
    when: any(
      status(503, 529),
      named('overloaded', 'overloaded_error', 'server_overloaded', 'service_unavailable'),
      words(/overloaded|over capacity|temporarily unavailable/i),
    ),
    waits: true,
  },
  {
    failure: 'server_error',
    errorClass: 'transient',
    when: (fault) =>
      fault.status !== undefined && (fault.status >= 500 || [408, 409, 425].includes(fault.status)),
    waits: true,
  },
  {
    // an error inside a stream that carried a 400 is as refused as an HTTP 400
    failure: 'refused',
    errorClass: 'permanent',
    when: (fault) => fault.status !== undefined && fault.status >= 400 && fault.status < 500,
  },
];

/** Which call failed, as its errors name it and what the operator fixes for it. */
export interface OpenAICall {
  /** What the sentences call the remote: "The model did not answer", "The model's server answered". */
  readonly noun: string;
  /** The settings that name the model and its URL, fixed when the server knows neither. */
  readonly modelSettings: string;
  /**
   * Whether a refusal as too long is a `ContextTooLongError`, which a run cures by compacting its
   * session; for a call without a session (an audio file over the size limit) it is only permanent.
   */
  readonly compacts: boolean;
}

/** The chat-completions call: the default of `classifyOpenAIError`. */
export const CHAT_CALL: OpenAICall = {
  noun: 'model',
  modelSettings: 'OPENAI_MODEL or OPENAI_CHAT_COMPLETIONS_URL',
  compacts: true,
};

/** The last rule: a failure with nothing to go by (mostly inside a stream) is worth another try. */
const UNKNOWN: ModelFailureRule = { failure: 'unknown', errorClass: 'transient', when: () => true };

/** The rule of the table that decides `fault`. */
export function modelFailureRule(fault: ModelFault): ModelFailureRule {
  return MODEL_FAILURE_RULES.find((rule) => rule.when(fault)) ?? UNKNOWN;
}

/** Maps any failure of an OpenAI call (chat by default) to transient / permanent / paused. */
export function classifyOpenAIError(err: unknown, call: OpenAICall = CHAT_CALL): EdgeError {
  if (err instanceof EdgeError) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new EdgeError(
      'transient',
      'openai',
      'timeout',
      `The ${call.noun} did not answer within OPENAI_TIMEOUT_SECONDS.`,
    );
  }
  if (err instanceof OpenAI.APIUserAbortError) {
    return new EdgeError(
      'transient',
      'openai',
      'aborted',
      `The ${call.noun} call was cancelled (the worker is stopping).`,
    );
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return new EdgeError(
      'transient',
      'openai',
      'network',
      redact(`Cannot reach the ${call.noun} API: ${causeChain(err)}`),
    );
  }
  if (err instanceof OpenAI.APIError) return classifyFault(faultOf(err), err, call);
  const message = err instanceof Error ? err.message : String(err);
  return new EdgeError('transient', 'openai', 'unknown', redact(`The ${call.noun} call failed: ${message}`));
}

function classifyFault(fault: ModelFault, err: APIError, call: OpenAICall): EdgeError {
  const rule = modelFailureRule(fault);
  const said = fault.said === undefined ? undefined : redact(fault.said);
  // the SDK puts the status before a body that was not JSON ("502 <html>…"); the sentence has it already
  const text = said ?? redact(err.message.replace(/^\d{3} /, ''));
  const label = [fault.status, fault.code].filter((part) => part !== undefined).join(' ');
  const what =
    fault.where === 'http'
      ? `The ${call.noun}'s server answered ${label}: ${text}`
      : `The ${call.noun}'s stream carried an error${label === '' ? '' : ` (${label})`}: ${text}`;
  if (rule.failure === 'context_too_long' && call.compacts) return new ContextTooLongError(what, said);
  // a wait asked for on the 200 that started a stream is no answer to the error inside it
  // (Together sends retry-after with its successful answers)
  const wait = rule.waits === true && fault.where === 'http' ? retryAfterMs(err.headers) : undefined;
  const fix = typeof rule.fix === 'function' ? rule.fix(call) : rule.fix;
  return new EdgeError(
    rule.errorClass,
    'openai',
    fault.code ?? (fault.status === undefined ? (fault.type ?? 'stream_error') : String(fault.status)),
    fix === undefined ? what : `${what} — processing is paused until ${fix}.`,
    wait,
    said,
  );
}

/** The SDK's error as a fault the rules read: its status, and what the body's `error` holds. */
export function faultOf(err: APIError): ModelFault {
  // The SDK keeps the body's `error` (HTTP) or the stream event's `error` as `err.error`: an
  // object as OpenAI writes it, or a bare string as some servers do
  const body: unknown = err.error;
  const error = isRecord(body) ? body : {};
  const message = typeof body === 'string' ? body : textOf(error.message);
  const upstream = isRecord(error.metadata) ? textOf(error.metadata.raw) : undefined;
  const said = [message, upstream].filter((part) => part !== undefined && part !== '').join(': ');
  return {
    where: err.status === undefined ? 'stream' : 'http',
    // inside a stream (HTTP 200) the status is the one the error carried: Groq's status_code,
    // OpenRouter's numeric code
    status: err.status ?? statusOf(error.status_code) ?? statusOf(error.code) ?? statusOf(error.status),
    code: typeof error.code === 'string' && statusOf(error.code) === undefined ? error.code : undefined,
    type: typeof error.type === 'string' ? error.type : undefined,
    said: said === '' ? undefined : said,
  };
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function statusOf(value: unknown): number | undefined {
  const status = typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : value;
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status < 600
    ? status
    : undefined;
}

function textOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
