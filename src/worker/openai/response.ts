// A model response assembled from what the API sent: streamed chunks one at a time, or a whole
// completion. Pure: no network, so the assembly of tool-call deltas is tested on its own.

import crypto from 'node:crypto';
import type OpenAI from 'openai';
import type { ModelResponse, ToolCall, Usage } from '../../agent/ports';
import { EdgeError } from '../errors';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type Completion = OpenAI.Chat.Completions.ChatCompletion;

interface PartialToolCall {
  id: string;
  name: string;
  arguments: string;
}

const NO_USAGE: Usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };

/** Collects streamed chunks into one response: content in order, tool calls by their index. */
export class ResponseAssembler {
  private text = '';
  private refusal = '';
  private readonly calls = new Map<number, PartialToolCall>();
  private usage: Usage = NO_USAGE;
  private model = '';
  private finishReason: string | null = null;

  /** Adds one chunk; returns true when the streamed content grew. */
  add(chunk: Chunk): boolean {
    if (!this.model && chunk.model) this.model = chunk.model;
    if (chunk.usage) this.usage = usageOf(chunk.usage);
    const choice = chunk.choices?.[0];
    if (!choice) return false;
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    const delta = choice.delta ?? {};
    if (delta.refusal) this.refusal += delta.refusal;
    for (const part of delta.tool_calls ?? []) {
      const call = this.calls.get(part.index);
      if (!call) {
        this.calls.set(part.index, {
          id: part.id ?? '',
          name: part.function?.name ?? '',
          arguments: part.function?.arguments ?? '',
        });
        continue;
      }
      // The id and name come with a call's first delta; what follows are pieces of its arguments
      // (a few compatible servers also send the name in pieces).
      if (part.id && !call.id) call.id = part.id;
      if (part.function?.name) call.name = part.id ? part.function.name : call.name + part.function.name;
      if (part.function?.arguments) call.arguments += part.function.arguments;
    }
    if (delta.content) {
      this.text += delta.content;
      return true;
    }
    return false;
  }

  /** The content streamed so far. */
  get textSoFar(): string {
    return this.text;
  }

  /**
   * The whole response. A stream that ended without a finish_reason broke off (a half-streamed
   * tool call must never run), and an answer with neither text nor tool calls is `empty_answer`.
   */
  finish(): ModelResponse {
    if (this.finishReason === null) {
      throw new EdgeError(
        'transient',
        'openai',
        'incomplete_stream',
        'The model stream ended before the answer was finished.',
      );
    }
    const toolCalls = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]) => toolCall(call.id, call.name, call.arguments));
    return settle(this.text || this.refusal, toolCalls, this.usage, this.model, this.finishReason);
  }
}

/** The response of a plain (not streamed) completion. */
export function fromCompletion(completion: Completion): ModelResponse {
  const choice = completion.choices?.[0];
  const message = choice?.message;
  const toolCalls = (message?.tool_calls ?? []).flatMap((call) =>
    call.type === 'function' ? [toolCall(call.id, call.function.name, call.function.arguments)] : [],
  );
  const content = message?.content ?? message?.refusal ?? '';
  return settle(
    content,
    toolCalls,
    completion.usage ? usageOf(completion.usage) : NO_USAGE,
    completion.model ?? '',
    choice?.finish_reason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
  );
}

function settle(
  content: string,
  toolCalls: ToolCall[],
  usage: Usage,
  model: string,
  finishReason: string,
): ModelResponse {
  if (content.trim() === '' && toolCalls.length === 0) {
    throw new EdgeError('transient', 'openai', 'empty_answer', 'The model returned an empty answer.');
  }
  return { content: content === '' ? null : content, toolCalls, usage, model, finishReason };
}

function toolCall(id: string, name: string, args: string): ToolCall {
  // A server that sends no id still needs one: the tool's result must name the call it answers.
  return { id: id || `call_${crypto.randomBytes(12).toString('hex')}`, name, arguments: args };
}

function usageOf(usage: OpenAI.Completions.CompletionUsage): Usage {
  return {
    promptTokens: usage.prompt_tokens ?? 0,
    completionTokens: usage.completion_tokens ?? 0,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
  };
}
