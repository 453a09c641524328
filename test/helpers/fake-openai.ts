/**
 * An OpenAI chat-completions server on 127.0.0.1 for tests: `POST /v1/chat/completions` with the
 * real response and error shapes (plain and streamed), API-key checking and fault injection. The
 * product's real client talks to it through `OPENAI_CHAT_COMPLETIONS_URL`.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { text as readText } from 'node:stream/consumers';
import { trackedSleep, waitUntil } from './wait-until';

/** One chat message as sent by the client; `content` may be a string or a list of parts. */
export interface ChatMessage {
  role: string;
  content?: string | Array<{ type: string; text?: string }> | null;
  [key: string]: unknown;
}

/** The parsed body of a chat-completions request. */
export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  [key: string]: unknown;
}

/** A request as received (authorization header included, so a test can check the key was sent). */
export interface RecordedRequest {
  body: ChatCompletionRequest;
  headers: http.IncomingHttpHeaders;
  at: number;
  /** The HTTP status it was answered with, once answered. */
  status?: number;
}

/** The `error` object of an OpenAI error body. */
export interface OpenAIErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/**
 * An injected failure: an HTTP error with OpenAI's error body (or a raw body, e.g. a proxy's HTML
 * page) and an optional `Retry-After` in seconds; a request never answered; a normal answer made late.
 */
export type OpenAIFailure =
  | { status: number; error?: Partial<OpenAIErrorBody>; retryAfter?: number; rawBody?: string }
  | { hang: true }
  | { delayMs: number };

/** Produces the assistant's text for a request. */
export type ReplyFn = (req: ChatCompletionRequest) => string | Promise<string>;

/** Real OpenAI failures, word for word, for `failNext` / `failWhen`. */
export const openAIErrors = {
  rateLimit: (kind: 'requests' | 'tokens' = 'requests', retryAfter?: number): OpenAIFailure => ({
    status: 429,
    retryAfter,
    error: {
      message:
        kind === 'requests'
          ? `Rate limit reached for gpt-4o-mini in organization org-test on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${retryAfter ?? 20}s. Visit https://platform.openai.com/account/rate-limits to learn more.`
          : `Rate limit reached for gpt-4o-mini in organization org-test on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000. Please try again in ${retryAfter ?? 2}s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
      type: kind,
      param: null,
      code: 'rate_limit_exceeded',
    },
  }),
  insufficientQuota: (): OpenAIFailure => ({
    status: 429,
    error: {
      message:
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
      type: 'insufficient_quota',
      param: null,
      code: 'insufficient_quota',
    },
  }),
  serverError: (): OpenAIFailure => ({ status: 500 }),
  overloaded: (): OpenAIFailure => ({ status: 503 }),
  contextLengthExceeded: (tokens = 130000): OpenAIFailure => ({
    status: 400,
    error: {
      message: `This model's maximum context length is 128000 tokens. However, your messages resulted in ${tokens} tokens. Please reduce the length of the messages.`,
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    },
  }),
};

/** A running fake; see `startFakeOpenAI`. */
export interface FakeOpenAI {
  /** The origin, e.g. `http://127.0.0.1:PORT` (the SDK's baseURL is `${url}/v1`). */
  readonly url: string;
  /** `${url}/v1/chat/completions`. */
  readonly chatCompletionsUrl: string;
  readonly requests: RecordedRequest[];
  /** Recorded requests whose body matches. */
  requestsFor(predicate: (body: ChatCompletionRequest) => boolean): RecordedRequest[];
  /** Replaces the reply function (default: `echo: <last user message>`). */
  setReply(fn: ReplyFn): void;
  /** Makes the next `times` requests (that `match`) fail with `failure`. */
  failNext(failure: OpenAIFailure, times?: number, match?: (req: ChatCompletionRequest) => boolean): void;
  /** Fails every matching request until the returned function is called. */
  failWhen(match: (req: ChatCompletionRequest) => boolean, failure: OpenAIFailure): () => void;
  /** Forgets every failNext and failWhen rule. */
  clearFailures(): void;
  /** Delays every answer by `ms`. */
  setLatency(ms: number): void;
  /** Resolves once `predicate` holds; rejects after `timeoutMs` naming `what` and what the fake saw. */
  waitFor(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** Stops the server and drops every hanging request. */
  close(): Promise<void>;
}

/** Options of `startFakeOpenAI`. */
export interface FakeOpenAIOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  reply?: ReplyFn;
}

interface FailureRule {
  failure: OpenAIFailure;
  remaining: number;
  match?: (req: ChatCompletionRequest) => boolean;
}

const NO_KEY =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.";
const BAD_JSON =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";

/** The text of the last user message (parts joined), or '' when there is none. */
export function lastUserText(req: ChatCompletionRequest): string {
  const last = [...(req.messages ?? [])].reverse().find((m) => m.role === 'user');
  return contentText(last?.content);
}

/** Starts a fake OpenAI server on 127.0.0.1 with a random port. */
export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = [];
  const once: FailureRule[] = [];
  const always: FailureRule[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let reply: ReplyFn = opts.reply ?? ((req) => `echo: ${lastUserText(req)}`);
  let latencyMs = 0;
  let closed = false;

  const sleep = (ms: number): Promise<void> => trackedSleep(timers, ms);

  const send = (
    res: http.ServerResponse,
    record: RecordedRequest | undefined,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): void => {
    if (record) record.status = status;
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, {
      'content-type': body.startsWith('{') ? 'application/json' : 'text/html',
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': `req_${crypto.randomBytes(16).toString('hex')}`,
      ...headers,
    });
    res.end(body);
  };
  const fail = (
    res: http.ServerResponse,
    record: RecordedRequest | undefined,
    status: number,
    error: OpenAIErrorBody,
  ) => send(res, record, status, JSON.stringify({ error }));

  const takeFailure = (body: ChatCompletionRequest): OpenAIFailure | undefined => {
    const index = once.findIndex((rule) => !rule.match || rule.match(body));
    const rule = once[index];
    if (rule) {
      if (--rule.remaining <= 0) once.splice(index, 1);
      return rule.failure;
    }
    return always.find((r) => !r.match || r.match(body))?.failure;
  };

  const complete = async (res: http.ServerResponse, record: RecordedRequest): Promise<void> => {
    const body = record.body;
    let content = await reply(body);
    let finishReason = 'stop';
    // max_tokens / max_completion_tokens cut the answer short with finish_reason "length", as the API does.
    const maxTokens = Number(body.max_completion_tokens ?? body.max_tokens ?? Infinity);
    if (estimateTokens(content) > maxTokens) {
      content = content.slice(0, Math.max(0, maxTokens) * 4);
      finishReason = 'length';
    }
    const promptTokens = body.messages.reduce(
      (sum, m) => sum + 4 + estimateTokens(contentText(m.content)),
      3,
    );
    const completionTokens = estimateTokens(content);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
    const head = {
      id: `chatcmpl-${crypto.randomBytes(15).toString('base64url')}`,
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      service_tier: 'default',
      system_fingerprint: 'fp_fake0001',
    };
    if (body.stream === true) {
      streamCompletion(res, record, head, content, finishReason, usage);
      return;
    }
    const completion = {
      ...head,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      usage,
    };
    send(res, record, 200, JSON.stringify(completion), { 'openai-processing-ms': '1' });
  };

  const streamCompletion = (
    res: http.ServerResponse,
    record: RecordedRequest,
    head: Record<string, unknown>,
    content: string,
    finishReason: string,
    usage: Record<string, unknown>,
  ): void => {
    record.status = 200;
    if (res.destroyed) return;
    const streamOptions = record.body.stream_options as { include_usage?: boolean } | undefined;
    const withUsage = streamOptions?.include_usage === true;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'x-request-id': `req_${crypto.randomBytes(16).toString('hex')}`,
    });
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): void => {
      const data = {
        ...head,
        object: 'chat.completion.chunk',
        choices,
        ...(withUsage ? { usage: null } : {}),
        ...extra,
      };
      res.write(`data: ${JSON.stringify(data)}\n\n`);
    };
    const choice = (delta: Record<string, unknown>, finish: string | null) => ({
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finish,
    });
    chunk([choice({ role: 'assistant', content: '', refusal: null }, null)]);
    for (const piece of content.match(/\S*\s*/g) ?? []) if (piece) chunk([choice({ content: piece }, null)]);
    chunk([choice({}, finishReason)]);
    if (withUsage) chunk([], { usage });
    res.end('data: [DONE]\n\n');
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const raw = await readText(req);
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      const model = { id: 'gpt-4o-mini', object: 'model', created: 1721172741, owned_by: 'system' };
      send(res, undefined, 200, JSON.stringify({ object: 'list', data: [model] }));
      return;
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      fail(res, undefined, 404, {
        message: `Invalid URL (${req.method} ${path})`,
        type: 'invalid_request_error',
        param: null,
        code: null,
      });
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    const body = (parsed && typeof parsed === 'object' ? parsed : {}) as ChatCompletionRequest;
    const record: RecordedRequest = { body, headers: req.headers, at: Date.now() };
    requests.push(record);

    if (opts.apiKey !== undefined) {
      const auth = /^Bearer\s+(.*)$/i.exec(req.headers.authorization ?? '');
      if (!auth?.[1]) return fail(res, record, 401, invalidRequest(NO_KEY, null, null));
      if (auth[1] !== opts.apiKey) {
        const message = `Incorrect API key provided: ${maskKey(auth[1])}. You can find your API key at https://platform.openai.com/account/api-keys.`;
        return fail(res, record, 401, invalidRequest(message, null, 'invalid_api_key'));
      }
    }
    if (parsed === undefined) return fail(res, record, 400, invalidRequest(BAD_JSON, null, null));
    if (typeof body.model !== 'string' || body.model === '') {
      return fail(res, record, 400, invalidRequest('you must provide a model parameter', null, null));
    }
    if (!Array.isArray(body.messages)) {
      return fail(
        res,
        record,
        400,
        invalidRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter'),
      );
    }
    if (body.messages.length === 0) {
      const message =
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.";
      return fail(res, record, 400, invalidRequest(message, 'messages', 'empty_array'));
    }

    if (latencyMs > 0) await sleep(latencyMs);
    const failure = takeFailure(body);
    if (failure && 'hang' in failure) return; // answered by close(), like a dead connection
    if (failure && 'delayMs' in failure) await sleep(failure.delayMs);
    else if (failure && 'status' in failure) {
      const headers: Record<string, string> =
        failure.retryAfter === undefined ? {} : { 'retry-after': String(failure.retryAfter) };
      const error = { ...defaultError(failure.status), ...failure.error };
      return send(res, record, failure.status, failure.rawBody ?? JSON.stringify({ error }), headers);
    }
    if (closed) return;
    await complete(res, record);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      fail(res, undefined, 500, { ...defaultError(500), message: `fake OpenAI failed: ${String(err)}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const summary = (): string => {
    const last = requests
      .slice(-3)
      .map((r) => `${r.status ?? 'pending'} ${JSON.stringify(lastUserText(r.body).slice(0, 80))}`);
    return `requests=${requests.length} [${last.join('; ')}]`;
  };

  return {
    url,
    chatCompletionsUrl: `${url}/v1/chat/completions`,
    requests,
    requestsFor: (predicate) => requests.filter((r) => predicate(r.body)),
    setReply(fn) {
      reply = fn;
    },
    failNext(failure, times = 1, match) {
      once.push({ failure, remaining: times, match });
    },
    failWhen(match, failure) {
      const rule: FailureRule = { failure, remaining: Infinity, match };
      always.push(rule);
      return () => {
        const index = always.indexOf(rule);
        if (index >= 0) always.splice(index, 1);
      };
    },
    clearFailures() {
      once.splice(0);
      always.splice(0);
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    waitFor: (predicate, timeoutMs = 10000, what = 'condition') =>
      waitUntil(
        predicate,
        timeoutMs,
        () => `fake OpenAI: timed out after ${timeoutMs} ms waiting for ${what}; ${summary()}`,
      ),
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };
}

function invalidRequest(message: string, param: string | null, code: string | null): OpenAIErrorBody {
  return { message, type: 'invalid_request_error', param, code };
}

function defaultError(status: number): OpenAIErrorBody {
  if (status === 429) return { ...(openAIErrors.rateLimit() as { error: OpenAIErrorBody }).error };
  if (status === 503) {
    return {
      message: 'The server is overloaded or not ready yet.',
      type: 'server_error',
      param: null,
      code: null,
    };
  }
  if (status >= 500) {
    return {
      message: 'The server had an error while processing your request. Sorry about that!',
      type: 'server_error',
      param: null,
      code: null,
    };
  }
  return invalidRequest(http.STATUS_CODES[status] ?? 'Request failed', null, null);
}

// Like the API: enough of the key to recognise it, never the whole secret.
function maskKey(key: string): string {
  if (key.length <= 10) return '*'.repeat(key.length);
  return `${key.slice(0, 6)}${'*'.repeat(Math.min(key.length - 10, 40))}${key.slice(-4)}`;
}

function contentText(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => part.text ?? '').join('');
  return '';
}

// About four characters per token for English: close enough for usage numbers and max_tokens.
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
