/**
 * The model port's failure rules, one case per rule, each fed the error the OpenAI SDK throws for
 * a provider's answer: an HTTP error with its body, or an error inside a stream that had started
 * (status undefined, as the SDK's Stream throws for an `event: error` or a chunk holding `error`).
 * Bodies recorded from real servers come from ../shared/recordings/providers.
 */
import { APIError } from 'openai';
import { ContextTooLongError, EdgeError, type ErrorClass } from '../../src/worker/errors';
import {
  classifyOpenAIError,
  faultOf,
  MODEL_FAILURE_RULES,
  modelFailureRule,
  type ModelFailure,
} from '../../src/worker/openai/errors';
import { recordedText } from '../helpers/provider-recordings';

/** The `error` object of a recorded JSON error body. */
function recordedError(file: string): Record<string, unknown> {
  return (JSON.parse(recordedText(file)) as { error: Record<string, unknown> }).error;
}

/** The `error` of the recorded stream's event or chunk that carries one. */
function recordedStreamError(file: string): Record<string, unknown> {
  const datas = recordedText(file)
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => JSON.parse(line.slice('data: '.length)) as { error?: Record<string, unknown> });
  const withError = datas.find((data) => data.error !== undefined);
  if (!withError) throw new Error(`${file} has no error`);
  return withError.error!;
}

/** What the SDK throws for an HTTP error: the body's `error` and the response's headers. */
const http = (status: number, error: unknown, headers: Record<string, string> = {}): APIError =>
  new APIError(status, error as object, undefined, new Headers(headers));

/** What the SDK throws for an error inside a stream: no status; headers of the 200 that started it. */
const inStream = (error: unknown, headers: Record<string, string> = {}): APIError =>
  new APIError(undefined, error as object, undefined, new Headers(headers));

interface Case {
  readonly rule: ModelFailure;
  readonly what: string;
  readonly error: APIError;
  readonly errorClass: ErrorClass;
  readonly code: string;
  readonly retryAfterMs?: number;
}

const CASES: readonly Case[] = [
  {
    rule: 'context_too_long',
    what: "OpenAI's 400 context_length_exceeded",
    error: http(400, {
      message:
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages.",
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    }),
    errorClass: 'permanent',
    code: 'context_length_exceeded',
  },
  {
    rule: 'context_too_long',
    what: 'a context error told only in words, with a numeric code (vLLM-style)',
    error: http(400, {
      object: 'error',
      message:
        "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens in the messages.",
      type: 'BadRequestError',
      code: 400,
    }),
    errorClass: 'permanent',
    code: 'context_length_exceeded',
  },
  {
    rule: 'context_too_long',
    what: 'a context error inside a stream',
    error: inStream({ message: 'prompt is too long: 210000 tokens > 200000 maximum', code: 400 }),
    errorClass: 'permanent',
    code: 'context_length_exceeded',
  },
  {
    rule: 'context_too_long',
    what: "llama.cpp's exceed_context_size_error",
    error: http(400, {
      code: 400,
      message: 'the request exceeds the available context size, try increasing it',
      type: 'exceed_context_size_error',
    }),
    errorClass: 'permanent',
    code: 'context_length_exceeded',
  },
  {
    rule: 'credit_limit',
    what: "OpenAI's 429 insufficient_quota",
    error: http(429, {
      message: 'You exceeded your current quota, please check your plan and billing details.',
      type: 'insufficient_quota',
      code: 'insufficient_quota',
    }),
    errorClass: 'paused',
    code: 'insufficient_quota',
  },
  {
    rule: 'credit_limit',
    what: "OpenRouter's 402 (more credits)",
    error: http(402, {
      code: 402,
      message:
        'This request requires more credits, or fewer max_tokens. You requested up to 16384 tokens, but can only afford 1234.',
    }),
    errorClass: 'paused',
    code: '402',
  },
  {
    rule: 'credit_limit',
    what: "DeepSeek's 402 Insufficient Balance",
    error: http(402, {
      message: 'Insufficient Balance',
      type: 'unknown_error',
      code: 'invalid_request_error',
    }),
    errorClass: 'paused',
    code: 'invalid_request_error',
  },
  {
    rule: 'output_limit',
    what: 'OpenRouter\'s "Token limit reached" inside a 200 stream (recorded)',
    error: inStream(recordedStreamError('openrouter-stream-length-error.sse')),
    errorClass: 'permanent',
    code: '400',
  },
  {
    rule: 'invalid_tool_call',
    what: "Groq's HTTP 400 tool_use_failed (recorded)",
    error: http(400, recordedError('groq-400-tool-use-failed.json')),
    errorClass: 'transient',
    code: 'tool_use_failed',
  },
  {
    rule: 'invalid_tool_call',
    what: "Groq's `event: error` tool_use_failed with status_code 400 inside a 200 stream (recorded)",
    error: inStream(recordedStreamError('groq-stream-error-retry.sse')),
    errorClass: 'transient',
    code: 'tool_use_failed',
  },
  {
    rule: 'content_filter',
    what: "Azure's 400 content_filter",
    error: http(400, {
      message:
        "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
      type: null,
      param: 'prompt',
      code: 'content_filter',
    }),
    errorClass: 'permanent',
    code: 'content_filter',
  },
  {
    rule: 'content_filter',
    what: "OpenRouter's 403 moderation (not a bad key)",
    error: http(403, {
      code: 403,
      message:
        'anthropic/claude-3.5-sonnet requires moderation on OpenRouter. Your input was flagged for "harassment".',
    }),
    errorClass: 'permanent',
    code: '403',
  },
  {
    rule: 'bad_key',
    what: 'a 401 invalid_api_key',
    error: http(401, { message: 'Incorrect API key provided: sk-abc***xyz.', code: 'invalid_api_key' }),
    errorClass: 'paused',
    code: 'invalid_api_key',
  },
  {
    rule: 'model_not_found',
    what: 'a 404 model_not_found',
    error: http(404, { message: 'The model `gpt-nope` does not exist.', code: 'model_not_found' }),
    errorClass: 'paused',
    code: 'model_not_found',
  },
  {
    rule: 'rate_limited',
    what: "OpenRouter's 429 without Retry-After (recorded): the queue's backoff",
    error: http(429, recordedError('openrouter-429.json')),
    errorClass: 'transient',
    code: '429',
  },
  {
    rule: 'rate_limited',
    what: "OpenAI's 429 with retry-after-ms",
    error: http(
      429,
      { message: 'Rate limit reached for gpt-4o-mini on tokens per min (TPM).', code: 'rate_limit_exceeded' },
      { 'retry-after-ms': '1500', 'retry-after': '2' },
    ),
    errorClass: 'transient',
    code: 'rate_limit_exceeded',
    retryAfterMs: 1500,
  },
  {
    rule: 'rate_limited',
    what: 'a rate limit inside a stream, under the retry-after a 200 carried (Together sends one with answers)',
    error: inStream({ message: 'Rate limit exceeded', status_code: 429 }, { 'retry-after': '30' }),
    errorClass: 'transient',
    code: '429',
  },
  {
    rule: 'overloaded',
    what: 'a 529 overloaded_error (Anthropic-style)',
    error: http(529, { type: 'overloaded_error', message: 'Overloaded' }, { 'retry-after': '3' }),
    errorClass: 'transient',
    code: '529',
    retryAfterMs: 3000,
  },
  {
    rule: 'overloaded',
    what: 'an "overloaded" error inside a stream, without a status',
    error: inStream({
      message: 'The engine is currently overloaded, please try again later',
      type: 'server_error',
    }),
    errorClass: 'transient',
    code: 'server_error',
  },
  {
    rule: 'server_error',
    what: 'a 500',
    error: http(500, {
      message: 'The server had an error while processing your request.',
      type: 'server_error',
    }),
    errorClass: 'transient',
    code: '500',
  },
  {
    rule: 'refused',
    what: 'a 400 the API refuses',
    error: http(400, { message: "Invalid value for 'messages'.", type: 'invalid_request_error', code: null }),
    errorClass: 'permanent',
    code: '400',
  },
  {
    rule: 'refused',
    what: 'a 400 inside a stream, carried as status_code',
    error: inStream({
      message: 'Missing `reasoning_content` field in the assistant message',
      status_code: 400,
    }),
    errorClass: 'permanent',
    code: '400',
  },
  {
    rule: 'unknown',
    what: 'an error inside a stream with neither status nor code',
    error: inStream({ message: 'The server had an error while processing your request.', code: null }),
    errorClass: 'transient',
    code: 'stream_error',
  },
];

describe('model failure rules', () => {
  it.each(CASES.map((c) => [c.rule, c.what, c] as const))('%s: %s', (_rule, _what, c) => {
    expect(modelFailureRule(faultOf(c.error)).failure).toBe(c.rule);
    const err = classifyOpenAIError(c.error);
    expect(err).toMatchObject({
      errorClass: c.errorClass,
      service: 'openai',
      code: c.code,
      retryAfterMs: c.retryAfterMs,
    });
    expect(err instanceof ContextTooLongError).toBe(c.rule === 'context_too_long');
  });

  it('has a case above for every rule of the table', () => {
    const covered = new Set(CASES.map((c) => c.rule));
    expect(MODEL_FAILURE_RULES.map((rule) => rule.failure).filter((f) => !covered.has(f))).toEqual([]);
    expect(covered.has('unknown')).toBe(true);
  });

  it('reads what the body says before the status that would otherwise decide', () => {
    const order = MODEL_FAILURE_RULES.map((rule) => rule.failure);
    const before = (a: ModelFailure, b: ModelFailure): boolean => order.indexOf(a) < order.indexOf(b);
    // a 429 out of quota is no rate limit; a 403 from moderation no bad key; a 400 no refusal
    expect(before('credit_limit', 'rate_limited')).toBe(true);
    expect(before('content_filter', 'bad_key')).toBe(true);
    for (const body of ['context_too_long', 'output_limit', 'invalid_tool_call', 'content_filter'] as const) {
      expect(before(body, 'refused')).toBe(true);
    }
  });

  it("keeps the provider's own words, whole and redacted, in the message and in `said`", () => {
    const key = 'sk-proj-Abcdefghijklmnop0123456789';
    const words = `Tool call validation failed: the call quoted ${key} and ${'more words '.repeat(40)}`;
    const err = classifyOpenAIError(http(400, { message: words, code: 'tool_use_failed' }));
    expect(err.said).toBe(words.replace(key, '[redacted]'));
    expect(err.message).toBe(`The model's server answered 400 tool_use_failed: ${err.said}`);
    expect(err.message).not.toContain(key);
  });

  it('adds what OpenRouter passed on from upstream to its own words', () => {
    const err = classifyOpenAIError(http(429, recordedError('openrouter-429.json')));
    expect(err.said).toMatch(
      /^Provider returned error: google\/gemini-2\.0-flash-exp:free is temporarily rate-limited upstream/,
    );
  });

  it('says an error came inside a stream, with the status and code it carried', () => {
    expect(
      classifyOpenAIError(inStream(recordedStreamError('openrouter-stream-length-error.sse'))).message,
    ).toBe("The model's stream carried an error (400): Token limit reached");
    expect(classifyOpenAIError(inStream(recordedStreamError('groq-stream-error-retry.sse'))).message).toMatch(
      /^The model's stream carried an error \(400 tool_use_failed\): Tool call validation failed: /,
    );
  });

  it('reads a bare string as the error, and says nothing for a body without words', () => {
    expect(classifyOpenAIError(inStream('model is loading')).said).toBe('model is loading');
    // a proxy's HTML page: the operator gets the body, the person no quote of it
    const page = new APIError(502, undefined, '<html>Bad Gateway</html>', new Headers());
    const err = classifyOpenAIError(page);
    expect(err).toMatchObject({ errorClass: 'transient', code: '502', said: undefined });
    expect(err.message).toBe("The model's server answered 502: <html>Bad Gateway</html>");
  });

  it('tells the operator what to fix when it pauses processing', () => {
    expect(classifyOpenAIError(http(402, { message: 'Insufficient Balance' })).message).toMatch(
      /processing is paused until the account of OPENAI_API_KEY has credit/,
    );
    expect(classifyOpenAIError(http(401, { message: 'bad key' })).message).toMatch(
      /processing is paused until OPENAI_API_KEY is fixed\.$/,
    );
  });

  it('passes an error classified already through unchanged', () => {
    const edge = new EdgeError('transient', 'openai', 'empty_answer', 'The model returned an empty answer.');
    expect(classifyOpenAIError(edge)).toBe(edge);
  });
});
