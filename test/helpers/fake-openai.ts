/**
 * An OpenAI chat-completions server on 127.0.0.1 for tests: `POST /v1/chat/completions` with the
 * real response and error shapes (plain and streamed as server-sent events, usage included),
 * scripted tool calls streamed as the API streams them, the API's checks of tool messages,
 * API-key checking and fault injection (also in the middle of a stream), and optionally OpenAI's
 * prompt caching in the usage it reports, and replays of responses recorded from real servers
 * (bytes verbatim). Also `POST /v1/audio/transcriptions` (a multipart form, scripted transcripts,
 * the API's refusals and the same fault injection). The product's real client talks to it through
 * `OPENAI_CHAT_COMPLETIONS_URL`.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer as readBuffer } from 'node:stream/consumers';
import { multipartBoundary, parseMultipart, type MultipartPart } from './multipart';
import { createPromptCache } from './prompt-cache';
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
  /**
   * What the fake answered (set once the reply is decided, before it is sent or streamed); unset
   * when the reply was a replay, whose response is the recording's (`replayed`).
   */
  response?: RecordedResponse;
  /** The recorded response it was answered with, when the reply was a replay. */
  replayed?: RecordedHttpResponse;
}

/** The answer given to a request, as the API reported it. */
export interface RecordedResponse {
  content: string | null;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: string;
  usage: { promptTokens: number; completionTokens: number; cachedTokens: number };
  /** Whether it went out as a stream. */
  streamed: boolean;
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
 * page, or a recorded server's whole answer with its `headers`: a 200 SSE body with an error in
 * it) and an optional `Retry-After` in seconds; a request never answered; a normal answer made late.
 */
export type OpenAIFailure =
  | {
      status: number;
      error?: Partial<OpenAIErrorBody>;
      retryAfter?: number;
      rawBody?: string;
      headers?: Record<string, string>;
    }
  | { hang: true }
  | { delayMs: number }
  /** A stream that starts (200, `afterChunks` content chunks) and then carries an error event. */
  | { streamError: Partial<OpenAIErrorBody>; afterChunks?: number }
  /** A stream whose connection is cut after `afterChunks` content chunks, without `[DONE]`. */
  | { streamDrop: true; afterChunks?: number };

/** A tool call the scripted model makes; `arguments` as an object is sent as its JSON. */
export interface ScriptedToolCall {
  name: string;
  arguments: Record<string, unknown> | string;
  /** Default: a fresh `call_…` id. */
  id?: string;
}

/** A scripted answer: text, tool calls, or both; usage and finish_reason may be forced. */
export interface ScriptedReply {
  content?: string | null;
  toolCalls?: ScriptedToolCall[];
  usage?: { promptTokens?: number; completionTokens?: number; cachedTokens?: number };
  finishReason?: string;
}

/** A response as a real server sent it: the status, the headers and the body's bytes, verbatim. */
export interface RecordedHttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * A reply that sends a recorded response instead of making one up, so the client parses exactly
 * what the real server sent: an event stream is written in pieces of `pieceBytes` (default
 * `REPLAY_PIECE_BYTES`) cut wherever they fall, so lines and events arrive split as on a real
 * network; any other body is sent whole.
 */
export interface ReplayedReply {
  readonly replay: RecordedHttpResponse;
  readonly pieceBytes?: number;
}

/**
 * The default piece of a replayed stream: a prime, so the cuts fall inside lines, JSON strings and
 * `data:` prefixes rather than on the recording's own event boundaries.
 */
export const REPLAY_PIECE_BYTES = 389;

/** What a reply function may return: the assistant's text, a scripted answer, or a replay. */
export type Reply = string | ScriptedReply | ReplayedReply;

/** Produces the assistant's answer for a request. */
export type ReplyFn = (req: ChatCompletionRequest) => Reply | Promise<Reply>;

/** One step of a script: a fixed answer, or a function of the request. */
export type ScriptStep = Reply | ReplyFn;

/** A reply function that plays its steps in order; see `script`. */
export interface Script extends ReplyFn {
  /** Steps not yet played. */
  readonly remaining: number;
  /** Steps played so far. */
  readonly played: number;
}

/** How streamed content is cut: `chunkSize` characters per chunk (default: one word each), `chunkDelayMs` between chunks. */
export interface StreamOptions {
  chunkSize?: number;
  chunkDelayMs?: number;
}

/**
 * A reply function that answers request n with step n, so a test decides exactly which tool runs
 * when. A request beyond the last step fails (HTTP 500 naming the script) rather than guessing.
 */
export function script(steps: readonly ScriptStep[]): Script {
  return playInOrder<ChatCompletionRequest, Reply>(steps);
}

/** Answers request n with step n (a value, or a function of the request); see `script`. */
function playInOrder<Req, Out>(
  steps: readonly (Out | ((req: Req) => Out | Promise<Out>))[],
): ((req: Req) => Promise<Out>) & { readonly remaining: number; readonly played: number } {
  let played = 0;
  const fn = async (req: Req): Promise<Out> => {
    const step = steps[played];
    if (step === undefined)
      throw new Error(
        `the script has ${steps.length} step(s) and all were played; request ${played + 1} has none`,
      );
    played++;
    return typeof step === 'function' ? (step as (req: Req) => Out | Promise<Out>)(req) : step;
  };
  return Object.defineProperties(fn, {
    remaining: { get: () => steps.length - played },
    played: { get: () => played },
  }) as typeof fn & { readonly remaining: number; readonly played: number };
}

/** A transcription request as the fake read its form. */
export interface TranscriptionRequest {
  model: string;
  fileName: string;
  mimeType: string;
  data: Buffer;
  /** Every text field of the form: model, response_format, language, prompt, ... */
  fields: Record<string, string>;
}

/** A transcription request as received, recorded before any check (so refused ones count too). */
export interface RecordedTranscription {
  model: string | undefined;
  fileName: string | undefined;
  mimeType: string | undefined;
  /** The file part's length in bytes (0 without one). */
  size: number;
  data: Buffer;
  fields: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  at: number;
  /** The HTTP status it was answered with, once answered. */
  status?: number;
  /** The transcript answered, once decided. */
  text?: string;
}

/** The `usage` of a transcription: tokens for the gpt-4o transcribe models, seconds for whisper-1. */
export type TranscriptionUsage =
  | {
      type: 'tokens';
      input_tokens: number;
      output_tokens: number;
      total_tokens: number;
      input_token_details?: { audio_tokens?: number; text_tokens?: number };
    }
  | { type: 'duration'; seconds: number };

/** A scripted transcript: the text, or the text with the usage to report. */
export type TranscriptReply = string | { text: string; usage?: TranscriptionUsage };

/** Produces the transcript of a request. */
export type TranscribeFn = (req: TranscriptionRequest) => TranscriptReply | Promise<TranscriptReply>;

/** One step of a transcript script: a fixed transcript, or a function of the request. */
export type TranscriptStep = TranscriptReply | TranscribeFn;

/** A transcribe function that plays its steps in order; see `FakeOpenAI.scriptTranscripts`. */
export interface TranscriptScript extends TranscribeFn {
  readonly remaining: number;
  readonly played: number;
}

// What can fail a transcription, which is never streamed: an HTTP error, no answer, a late answer.
type TranscriptionFailure = Exclude<OpenAIFailure, { streamError: unknown } | { streamDrop: true }>;

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
  /** A request the API refuses as malformed (a permanent failure that is not about its length). */
  invalidRequest: (message = "Invalid value for 'messages'."): OpenAIFailure => ({
    status: 400,
    error: { message, type: 'invalid_request_error', param: 'messages', code: null },
  }),
};

/** A running fake; see `startFakeOpenAI`. */
export interface FakeOpenAI {
  /** The origin, e.g. `http://127.0.0.1:PORT` (the SDK's baseURL is `${url}/v1`). */
  readonly url: string;
  /** `${url}/v1/chat/completions`. */
  readonly chatCompletionsUrl: string;
  /** `${url}/v1/audio/transcriptions`. */
  readonly transcriptionsUrl: string;
  readonly requests: RecordedRequest[];
  /** Every transcription request, refused ones included. */
  readonly transcriptions: RecordedTranscription[];
  /** Recorded requests whose body matches. */
  requestsFor(predicate: (body: ChatCompletionRequest) => boolean): RecordedRequest[];
  /** Replaces the reply function (default: `echo: <last user message>`). */
  setReply(fn: ReplyFn): void;
  /** Answers the next requests with `steps`, in order (see `script`); returns the script. */
  script(steps: readonly ScriptStep[]): Script;
  /** How streamed answers are cut and paced. */
  setStreaming(options: StreamOptions): void;
  /** While on, `stream: true` is ignored and a plain JSON completion comes back, as some servers do. */
  setIgnoreStream(on: boolean): void;
  /**
   * While on, a request with an assistant message that has tool calls but no `reasoning_content`
   * is refused with DeepSeek's 400, as DeepSeek's thinking models (deepseek-reasoner) do.
   */
  setReasoningContentRequired(on: boolean): void;
  /** Makes the next `times` requests (that `match`) fail with `failure`. */
  failNext(failure: OpenAIFailure, times?: number, match?: (req: ChatCompletionRequest) => boolean): void;
  /** Fails every matching request until the returned function is called. */
  failWhen(match: (req: ChatCompletionRequest) => boolean, failure: OpenAIFailure): () => void;
  /** Replaces the transcribe function (default: `transcript of <file name>`). */
  setTranscriber(fn: TranscribeFn): void;
  /** Answers the next transcriptions with `steps`, in order; one beyond the last fails (HTTP 500). */
  scriptTranscripts(steps: readonly TranscriptStep[]): TranscriptScript;
  /**
   * Makes the next `times` transcriptions (that `match`) fail with `failure` (an HTTP error, a hang
   * or a delay: a transcription is not streamed); chat requests neither count nor are failed.
   */
  failNextTranscription(
    failure: OpenAIFailure,
    times?: number,
    match?: (req: TranscriptionRequest) => boolean,
  ): void;
  /** Forgets every failNext, failWhen and failNextTranscription rule. */
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
  transcribe?: TranscribeFn;
  stream?: StreamOptions;
  /**
   * When on, usage counts a request's tokens as `prompt-cache.ts` tokenizes it (tools, then
   * messages) and reports as cached the prefix it shares with an earlier answered request of the
   * same `prompt_cache_key`, by OpenAI's rule (from 1,024 tokens, in 128-token steps). Off: cached
   * is 0 and prompt tokens a per-message estimate. A scripted reply's usage wins either way.
   */
  promptCache?: boolean;
}

type StreamFailure =
  | { streamError: Partial<OpenAIErrorBody>; afterChunks?: number }
  | { streamDrop: true; afterChunks?: number };

interface FailureRule {
  failure: OpenAIFailure;
  remaining: number;
  match?: (req: ChatCompletionRequest) => boolean;
}

interface TranscriptionFailureRule {
  failure: TranscriptionFailure;
  remaining: number;
  match?: (req: TranscriptionRequest) => boolean;
}

// "File uploads are currently limited to 25 MB": the API reads at most 26,214,400 bytes of a request.
const MAX_AUDIO_REQUEST_BYTES = 25 * 1024 * 1024;
// The formats the API names when it refuses a file ("Invalid file format. Supported formats: ...").
const AUDIO_FORMATS = ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm'];

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
  const transcriptionFailures: TranscriptionFailureRule[] = [];
  const transcriptions: RecordedTranscription[] = [];
  let transcriber: TranscribeFn = opts.transcribe ?? ((req) => `transcript of ${req.fileName}`);
  const timers = new Set<NodeJS.Timeout>();
  let reply: ReplyFn = opts.reply ?? ((req) => `echo: ${lastUserText(req)}`);
  let latencyMs = 0;
  let streaming: StreamOptions = opts.stream ?? {};
  let ignoreStream = false;
  let reasoningContentRequired = false;
  let closed = false;
  const cache = opts.promptCache === true ? createPromptCache() : undefined;

  const sleep = (ms: number): Promise<void> => trackedSleep(timers, ms);

  const send = (
    res: http.ServerResponse,
    record: { status?: number } | undefined,
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
    record: { status?: number } | undefined,
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

  const complete = async (
    res: http.ServerResponse,
    record: RecordedRequest,
    failure?: StreamFailure,
  ): Promise<void> => {
    const body = record.body;
    const given = await reply(body);
    if (typeof given !== 'string' && 'replay' in given) {
      // what went wrong mid-stream is in the recording itself; cutting it as well would test neither
      if (failure) throw new Error('a stream failure cannot be injected into a replayed response');
      return replay(res, record, given);
    }
    const scripted: ScriptedReply = typeof given === 'string' ? { content: given } : given;
    const toolCalls = (scripted.toolCalls ?? []).map((call) => ({
      id: call.id ?? `call_${crypto.randomBytes(18).toString('base64url').slice(0, 24)}`,
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
    }));
    let content = scripted.content ?? (toolCalls.length > 0 ? null : '');
    let finishReason = scripted.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop');
    // max_tokens / max_completion_tokens cut the answer short with finish_reason "length", as the API does.
    const maxTokens = Number(body.max_completion_tokens ?? body.max_tokens ?? Infinity);
    if (content !== null && estimateTokens(content) > maxTokens) {
      content = content.slice(0, Math.max(0, maxTokens) * 4);
      finishReason = 'length';
    }
    // counted once the answer is decided: a request that fails before is not cached, as at OpenAI
    const counted = cache?.count(body);
    const promptTokens =
      scripted.usage?.promptTokens ??
      counted?.promptTokens ??
      body.messages.reduce(
        (sum, m) => sum + 4 + estimateTokens(contentText(m.content) + JSON.stringify(m.tool_calls ?? '')),
        3 + (Array.isArray(body.tools) ? estimateTokens(JSON.stringify(body.tools)) : 0),
      );
    const completionTokens =
      scripted.usage?.completionTokens ??
      estimateTokens((content ?? '') + toolCalls.map((c) => c.name + c.arguments).join(''));
    const cachedTokens = scripted.usage?.cachedTokens ?? counted?.cachedTokens ?? 0;
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
    const streamed = body.stream === true && !ignoreStream;
    record.response = {
      content,
      toolCalls,
      finishReason,
      usage: { promptTokens, completionTokens, cachedTokens },
      streamed,
    };
    const head = {
      id: `chatcmpl-${crypto.randomBytes(15).toString('base64url')}`,
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      service_tier: 'default',
      system_fingerprint: 'fp_fake0001',
    };
    if (streamed) {
      await streamCompletion(res, record, head, content, toolCalls, finishReason, usage, failure);
      return;
    }
    if (failure && 'streamDrop' in failure) {
      res.destroy();
      return;
    }
    if (failure) {
      const error = { ...defaultError(500), ...failure.streamError };
      send(res, record, 500, JSON.stringify({ error }));
      return;
    }
    const message = {
      role: 'assistant',
      content,
      ...(toolCalls.length > 0
        ? {
            tool_calls: toolCalls.map((c) => ({
              id: c.id,
              type: 'function',
              function: { name: c.name, arguments: c.arguments },
            })),
          }
        : {}),
      refusal: null,
      annotations: [],
    };
    const completion = {
      ...head,
      object: 'chat.completion',
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
      usage,
    };
    send(res, record, 200, JSON.stringify(completion), { 'openai-processing-ms': '1' });
  };

  const streamCompletion = async (
    res: http.ServerResponse,
    record: RecordedRequest,
    head: Record<string, unknown>,
    content: string | null,
    toolCalls: readonly { id: string; name: string; arguments: string }[],
    finishReason: string,
    usage: Record<string, unknown>,
    failure: StreamFailure | undefined,
  ): Promise<void> => {
    record.status = 200;
    if (res.destroyed) return;
    const streamOptions = record.body.stream_options as { include_usage?: boolean } | undefined;
    const withUsage = streamOptions?.include_usage === true;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'x-request-id': `req_${crypto.randomBytes(16).toString('hex')}`,
    });
    const write = (data: unknown): void => {
      if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
    };
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): void =>
      write({
        ...head,
        object: 'chat.completion.chunk',
        choices,
        ...(withUsage ? { usage: null } : {}),
        ...extra,
      });
    const choice = (delta: Record<string, unknown>, finish: string | null) => ({
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finish,
    });
    const pieces = splitContent(content ?? '', streaming.chunkSize);
    const delay = streaming.chunkDelayMs ?? 0;
    let sentChunks = 0;
    // Between chunks: the pause, and the injected failure once its chunk count is reached.
    const beat = async (): Promise<boolean> => {
      if (failure && sentChunks >= (failure.afterChunks ?? 0)) {
        if ('streamDrop' in failure) res.destroy();
        else {
          write({ error: { ...defaultError(500), ...failure.streamError } });
          res.end();
        }
        return false;
      }
      if (delay > 0) await sleep(delay);
      return !res.destroyed && !closed;
    };

    chunk([choice({ role: 'assistant', content: content === null ? null : '', refusal: null }, null)]);
    for (const piece of pieces) {
      if (!(await beat())) return;
      chunk([choice({ content: piece }, null)]);
      sentChunks++;
    }
    // Tool calls as the API streams them: the id and name first, then the arguments in pieces.
    for (const [index, call] of toolCalls.entries()) {
      if (!(await beat())) return;
      chunk([
        choice(
          {
            tool_calls: [
              { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
            ],
          },
          null,
        ),
      ]);
      sentChunks++;
      for (const part of splitContent(call.arguments, streaming.chunkSize ?? 8)) {
        if (!(await beat())) return;
        chunk([choice({ tool_calls: [{ index, function: { arguments: part } }] }, null)]);
        sentChunks++;
      }
    }
    if (failure && !(await beat())) return;
    chunk([choice({}, finishReason)]);
    if (withUsage) chunk([], { usage });
    if (!res.destroyed) res.end('data: [DONE]\n\n');
  };

  /** Sends a recorded response as it was: an event stream in pieces, any other body whole. */
  const replay = async (
    res: http.ServerResponse,
    record: RecordedRequest,
    given: ReplayedReply,
  ): Promise<void> => {
    const { status, headers, body } = given.replay;
    record.replayed = given.replay;
    record.status = status;
    if (res.destroyed) return;
    const streamed = Object.entries(headers).some(
      ([name, value]) => name.toLowerCase() === 'content-type' && value.includes('text/event-stream'),
    );
    if (!streamed) {
      res.writeHead(status, { ...headers, 'content-length': String(body.length) });
      res.end(body);
      return;
    }
    res.writeHead(status, headers);
    const size = given.pieceBytes ?? REPLAY_PIECE_BYTES;
    for (let at = 0; at < body.length; at += size) {
      if (res.destroyed || closed) return;
      res.write(body.subarray(at, at + size));
      // a pause, so that each piece reaches the client on its own rather than coalesced with the next
      await sleep(streaming.chunkDelayMs ?? 1);
    }
    if (!res.destroyed) res.end();
  };

  /** DeepSeek's refusal of a tool call turn sent back without its reasoning, word for word. */
  const missingReasoningContent = (body: ChatCompletionRequest): OpenAIErrorBody | undefined => {
    const index = body.messages.findIndex(
      (m) =>
        m.role === 'assistant' &&
        Array.isArray(m.tool_calls) &&
        m.tool_calls.length > 0 &&
        typeof m.reasoning_content !== 'string',
    );
    if (index < 0) return undefined;
    return {
      message: `Missing \`reasoning_content\` field in the assistant message at message index ${index}. For more information, please refer to https://api-docs.deepseek.com/guides/thinking_mode#tool-calls`,
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_request_error',
    };
  };

  /** The API's own checks of a conversation with tools, word for word. */
  const toolMessageError = (body: ChatCompletionRequest): OpenAIErrorBody | undefined => {
    if (body.tools !== undefined) {
      if (!Array.isArray(body.tools))
        return invalidRequest("Invalid type for 'tools': expected an array.", 'tools', 'invalid_type');
      for (const [i, tool] of (body.tools as unknown[]).entries()) {
        const name = (tool as { function?: { name?: unknown } } | null)?.function?.name;
        if (typeof name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(name)) {
          return invalidRequest(
            `Invalid 'tools[${i}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
            `tools[${i}].function.name`,
            'invalid_value',
          );
        }
      }
    }
    let open: string[] = [];
    for (const [i, message] of body.messages.entries()) {
      if (message.role === 'tool') {
        const id = message.tool_call_id;
        if (typeof id !== 'string' || !open.includes(id)) {
          return invalidRequest(
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
            `messages.[${i}].role`,
            null,
          );
        }
        open = open.filter((o) => o !== id);
        continue;
      }
      if (open.length > 0) break;
      const calls =
        message.role === 'assistant' && Array.isArray(message.tool_calls) ? message.tool_calls : [];
      open = (calls as { id?: unknown }[]).map((c) => String(c.id));
    }
    if (open.length > 0) {
      return invalidRequest(
        `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${open.join(', ')}`,
        'messages',
        null,
      );
    }
    return undefined;
  };

  /** The API's refusal of a missing or wrong key, or undefined when the key is right or none is set. */
  const keyError = (headers: http.IncomingHttpHeaders): OpenAIErrorBody | undefined => {
    if (opts.apiKey === undefined) return undefined;
    const auth = /^Bearer\s+(.*)$/i.exec(headers.authorization ?? '');
    if (!auth?.[1]) return invalidRequest(NO_KEY, null, null);
    if (auth[1] === opts.apiKey) return undefined;
    const message = `Incorrect API key provided: ${maskKey(auth[1])}. You can find your API key at https://platform.openai.com/account/api-keys.`;
    return invalidRequest(message, null, 'invalid_api_key');
  };

  const takeTranscriptionFailure = (request: TranscriptionRequest): TranscriptionFailure | undefined => {
    const index = transcriptionFailures.findIndex((rule) => !rule.match || rule.match(request));
    const rule = transcriptionFailures[index];
    if (!rule) return undefined;
    if (--rule.remaining <= 0) transcriptionFailures.splice(index, 1);
    return rule.failure;
  };

  /** `POST /v1/audio/transcriptions`: the form checked as the API checks it, then the scripted transcript. */
  const transcribe = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    const contentType = req.headers['content-type'] ?? '';
    const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    const boundary = multipartBoundary(contentType);
    let parts: MultipartPart[] | undefined;
    if (type === 'multipart/form-data' && boundary) {
      try {
        parts = parseMultipart(body, boundary);
      } catch {
        parts = undefined;
      }
    }
    const fields: Record<string, string> = {};
    let file: MultipartPart | undefined;
    for (const part of parts ?? []) {
      if (part.filename === undefined) fields[part.name] = part.data.toString('utf8');
      else if (part.name === 'file') file ??= part;
    }
    const record: RecordedTranscription = {
      model: fields.model,
      fileName: file?.filename,
      mimeType: file?.contentType,
      size: file?.data.length ?? 0,
      data: file?.data ?? Buffer.alloc(0),
      fields,
      headers: req.headers,
      at: Date.now(),
    };
    transcriptions.push(record);

    const authError = keyError(req.headers);
    if (authError) return fail(res, record, 401, authError);
    if (body.length > MAX_AUDIO_REQUEST_BYTES) {
      const message = `Maximum content size limit (${MAX_AUDIO_REQUEST_BYTES}) exceeded (${body.length} bytes read)`;
      return fail(res, record, 413, { message, type: 'server_error', param: null, code: null });
    }
    if (type !== 'multipart/form-data') {
      const message = `Unsupported content type: '${type}'. This API method only accepts 'multipart/form-data' requests, but you specified the header 'Content-Type: ${type}'. Please try again with a supported content type.`;
      return fail(res, record, 400, invalidRequest(message, null, 'unsupported_content_type'));
    }
    // Missing fields are refused by the API's request validation, one line per field.
    const missing = [file ? undefined : 'file', fields.model ? undefined : 'model'].filter(
      (f) => f !== undefined,
    );
    if (!parts || missing.length > 0) {
      const lines = (parts ? missing : ['file', 'model']).map(
        (field) => `body -> ${field}\n  field required (type=value_error.missing)`,
      );
      const heading = `${lines.length} validation error${lines.length === 1 ? '' : 's'} for Request`;
      return fail(res, record, 400, invalidRequest([heading, ...lines].join('\n'), null, null));
    }
    const model = fields.model ?? '';
    const format = fields.response_format ?? 'json';
    if (isGptTranscribeModel(model) && format !== 'json' && format !== 'text') {
      const message = `response_format '${format}' is not compatible with model '${model}'. Use 'json' or 'text' instead.`;
      return fail(res, record, 400, invalidRequest(message, 'response_format', 'unsupported_value'));
    }
    const fileName = file?.filename ?? '';
    const mimeType = file?.contentType ?? '';
    const extension = /\.([^.]+)$/.exec(fileName)?.[1]?.toLowerCase() ?? '';
    const subtype = /^(?:audio|video)\/(?:x-)?([\w.+-]+)/i.exec(mimeType)?.[1]?.toLowerCase() ?? '';
    if (!AUDIO_FORMATS.includes(extension) && !AUDIO_FORMATS.includes(subtype)) {
      const message = `Invalid file format. Supported formats: [${AUDIO_FORMATS.map((f) => `'${f}'`).join(', ')}]`;
      return fail(res, record, 400, invalidRequest(message, null, null));
    }
    if (record.size === 0) {
      const message = 'Audio file is too short. Minimum audio length is 0.1 seconds.';
      return fail(res, record, 400, invalidRequest(message, 'file', 'audio_too_short'));
    }

    const request: TranscriptionRequest = { model, fileName, mimeType, data: record.data, fields };
    if (latencyMs > 0) await sleep(latencyMs);
    const failure = takeTranscriptionFailure(request);
    if (failure && 'hang' in failure) return; // answered by close(), like a dead connection
    if (failure && 'delayMs' in failure) await sleep(failure.delayMs);
    else if (failure) {
      const headers: Record<string, string> = {
        ...(failure.retryAfter === undefined ? {} : { 'retry-after': String(failure.retryAfter) }),
        ...failure.headers,
      };
      const error = { ...defaultError(failure.status), ...failure.error };
      return send(res, record, failure.status, failure.rawBody ?? JSON.stringify({ error }), headers);
    }
    if (closed) return;
    const given = await transcriber(request);
    const { text, usage } = typeof given === 'string' ? { text: given, usage: undefined } : given;
    record.text = text;
    if (format === 'text')
      return send(res, record, 200, `${text}\n`, { 'content-type': 'text/plain; charset=utf-8' });
    if (format !== 'json') throw new Error(`the fake does not implement response_format '${format}'`);
    send(
      res,
      record,
      200,
      JSON.stringify({ text, usage: usage ?? transcriptionUsage(model, record.size, text) }),
    );
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const rawBody = await readBuffer(req);
    const raw = rawBody.toString('utf8');
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && path === '/v1/audio/transcriptions') return transcribe(req, res, rawBody);
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

    const authError = keyError(req.headers);
    if (authError) return fail(res, record, 401, authError);
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

    const toolError = toolMessageError(body);
    if (toolError) return fail(res, record, 400, toolError);
    const reasoningError = reasoningContentRequired ? missingReasoningContent(body) : undefined;
    if (reasoningError) return fail(res, record, 400, reasoningError);

    if (latencyMs > 0) await sleep(latencyMs);
    const failure = takeFailure(body);
    if (failure && 'hang' in failure) return; // answered by close(), like a dead connection
    if (failure && 'delayMs' in failure) await sleep(failure.delayMs);
    else if (failure && ('streamError' in failure || 'streamDrop' in failure)) {
      if (closed) return;
      return complete(res, record, failure);
    } else if (failure && 'status' in failure) {
      const headers: Record<string, string> = {
        ...(failure.retryAfter === undefined ? {} : { 'retry-after': String(failure.retryAfter) }),
        ...failure.headers,
      };
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
    transcriptionsUrl: `${url}/v1/audio/transcriptions`,
    requests,
    transcriptions,
    requestsFor: (predicate) => requests.filter((r) => predicate(r.body)),
    setReply(fn) {
      reply = fn;
    },
    script(steps) {
      const played = script(steps);
      reply = played;
      return played;
    },
    setStreaming(options) {
      streaming = options;
    },
    setIgnoreStream(on) {
      ignoreStream = on;
    },
    setReasoningContentRequired(on) {
      reasoningContentRequired = on;
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
    setTranscriber(fn) {
      transcriber = fn;
    },
    scriptTranscripts(steps) {
      const played = playInOrder<TranscriptionRequest, TranscriptReply>(steps);
      transcriber = played;
      return played;
    },
    failNextTranscription(failure, times = 1, match) {
      if ('streamError' in failure || 'streamDrop' in failure)
        throw new Error('a transcription is not streamed: give an HTTP failure, a hang or a delay');
      transcriptionFailures.push({ failure, remaining: times, match });
    },
    clearFailures() {
      once.splice(0);
      always.splice(0);
      transcriptionFailures.splice(0);
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

/** The gpt-4o transcribe family (not whisper-1): json or text only, usage billed in tokens. */
function isGptTranscribeModel(model: string): boolean {
  return model.startsWith('gpt-');
}

/**
 * A made-up but steady usage: the gpt-4o transcribe models bill tokens (audio in, text out),
 * whisper-1 the audio's seconds; the fake counts about 1 KB of audio as a token or a second.
 */
function transcriptionUsage(model: string, audioBytes: number, text: string): TranscriptionUsage {
  const audio = Math.max(1, Math.ceil(audioBytes / 1024));
  if (!isGptTranscribeModel(model)) return { type: 'duration', seconds: audio };
  const output = estimateTokens(text);
  return {
    type: 'tokens',
    input_tokens: audio,
    input_token_details: { text_tokens: 0, audio_tokens: audio },
    output_tokens: output,
    total_tokens: audio + output,
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

/** Cuts streamed text: `size` characters a piece, or one word (with its trailing space) a piece. */
function splitContent(text: string, size: number | undefined): string[] {
  if (text === '') return [];
  if (size === undefined || size <= 0) return (text.match(/\S*\s*/g) ?? []).filter((p) => p !== '');
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

// About four characters per token for English: close enough for usage numbers and max_tokens.
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
