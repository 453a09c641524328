// The model port: one chat-completions call through the official SDK, streamed by default, with
// function tools; every failure becomes an `EdgeError` (see ./errors.ts).

import OpenAI from 'openai';
import { Stream } from 'openai/core/streaming';
import type { AgentMessage, ModelPort, ModelResponse, ToolSpec } from '../../agent/ports';
import { EdgeError } from '../errors';
import { classifyOpenAIError } from './errors';
import { fromCompletion, ResponseAssembler } from './response';

type ChatParams = OpenAI.Chat.Completions.ChatCompletionCreateParams;
type ChatMessageParam = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;

/** How the port reaches the model. */
export interface ModelPortOptions {
  readonly apiKey: string;
  readonly baseUrl: string;
  readonly model: string;
  /** Bounds the wait for the answer to start, and then every silence between two chunks. */
  readonly timeoutSeconds: number;
  /** Ask with `stream: true` (default); false asks for one plain completion. */
  readonly stream?: boolean;
}

/**
 * A `ModelPort` over the OpenAI SDK. Streamed text is reported through `onText` as it grows; a
 * server that ignores `stream: true` and answers plain JSON still works (without `onText` calls).
 * The SDK's retries are off: the queue owns retries, so attempts are counted and visible.
 */
export function createModelPort(options: ModelPortOptions): ModelPort {
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseUrl,
    maxRetries: 0,
    timeout: options.timeoutSeconds * 1000,
  });
  const stream = options.stream ?? true;
  const idleMs = options.timeoutSeconds * 1000;

  return async (messages, tools, request = {}) => {
    const outer = request.signal;
    if (outer?.aborted) throw cancelled();
    const params: ChatParams = {
      model: request.model ?? options.model,
      messages: messages.map(toChatMessage),
      ...(tools.length > 0 ? { tools: tools.map(toChatTool) } : {}),
      // without tools there is nothing to choose from, and the API refuses a choice among none
      ...(tools.length > 0 && request.toolChoice ? { tool_choice: request.toolChoice } : {}),
      ...(request.cacheKey !== undefined ? { prompt_cache_key: request.cacheKey } : {}),
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    };
    // Our own controller ends the stream on silence; the caller's signal cancels through it too.
    const local = new AbortController();
    const signal = outer ? AbortSignal.any([outer, local.signal]) : local.signal;

    let response: Response;
    try {
      response = await client.chat.completions.create(params, { signal }).asResponse();
    } catch (err) {
      throw outer?.aborted ? cancelled() : classifyOpenAIError(err);
    }
    if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
      return plainAnswer(response, outer);
    }

    const assembler = new ResponseAssembler();
    let silent = false;
    let idle: NodeJS.Timeout | undefined;
    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        silent = true;
        local.abort();
      }, idleMs);
    };
    armIdle();
    // onText's own failures are the caller's, not the model's: they end the stream and pass unchanged
    let callerFailure: { error: unknown } | undefined;
    try {
      for await (const chunk of Stream.fromSSEResponse<Chunk>(response, local, client)) {
        armIdle();
        if (!assembler.add(chunk) || !request.onText) continue;
        try {
          request.onText(assembler.textSoFar);
        } catch (error) {
          callerFailure = { error };
          throw error;
        }
      }
    } catch (err) {
      if (callerFailure) throw callerFailure.error;
      if (outer?.aborted) throw cancelled();
      if (err instanceof SyntaxError) throw brokenStream(`a chunk was not JSON (${err.message})`);
      if (err instanceof OpenAI.APIError) throw classifyOpenAIError(err);
      // undici says "terminated" when the connection is cut mid-answer
      throw brokenStream(err instanceof Error ? err.message : String(err));
    } finally {
      clearTimeout(idle);
    }
    // The SDK ends an aborted stream quietly: what arrived until then is not an answer.
    if (outer?.aborted) throw cancelled();
    if (silent) {
      throw new EdgeError(
        'transient',
        'openai',
        'timeout',
        `The model's stream was silent for ${options.timeoutSeconds} s (OPENAI_TIMEOUT_SECONDS).`,
      );
    }
    return assembler.finish();
  };
}

async function plainAnswer(response: Response, signal: AbortSignal | undefined): Promise<ModelResponse> {
  let completion: OpenAI.Chat.Completions.ChatCompletion;
  try {
    completion = (await response.json()) as OpenAI.Chat.Completions.ChatCompletion;
  } catch (err) {
    if (signal?.aborted) throw cancelled();
    throw brokenStream(err instanceof Error ? err.message : String(err));
  }
  return fromCompletion(completion);
}

/** The chat-completions form of one message of the conversation. */
export function toChatMessage(message: AgentMessage): ChatMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user': {
      // only images the worker read (with a url) go; a message without any stays a plain string,
      // so a text-only request is the same bytes as before images existed
      const urls = (message.images ?? []).flatMap((image) => (image.url !== undefined ? [image.url] : []));
      if (urls.length === 0) return { role: 'user', content: message.content };
      return {
        role: 'user',
        content: [
          { type: 'text', text: message.content },
          ...urls.map((url) => ({ type: 'image_url' as const, image_url: { url } })),
        ],
      };
    }
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    case 'assistant': {
      const calls = message.toolCalls ?? [];
      // the provider's own fields go back with a turn that called tools, as it sent them (DeepSeek
      // refuses such a turn without its reasoning_content); they come first, so they can never
      // replace content or tool calls
      if (calls.length === 0) return { role: 'assistant', content: message.content ?? '' };
      const fields = message.providerFields ?? {};
      return {
        ...fields,
        role: 'assistant',
        content: message.content,
        tool_calls: calls.map((call) => ({
          ...call.extra,
          id: call.id,
          type: 'function' as const,
          function: { name: call.name, arguments: call.arguments },
        })),
      };
    }
  }
}

function toChatTool(tool: ToolSpec): OpenAI.Chat.Completions.ChatCompletionTool {
  return {
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: { ...tool.parameters } },
  };
}

function cancelled(): EdgeError {
  return new EdgeError('transient', 'openai', 'aborted', 'The model call was cancelled.');
}

function brokenStream(reason: string): EdgeError {
  return new EdgeError('transient', 'openai', 'network', `The model's answer broke off: ${reason}.`);
}
