// A model response assembled from what the API sent: streamed chunks one at a time, or a whole
// completion. Pure: no network, so the assembly of tool-call deltas is tested on its own.

import crypto from 'node:crypto';
import type OpenAI from 'openai';
import type { ModelResponse, ProviderFields, ToolCall, Usage } from '../../agent/ports';
import { EdgeError } from '../errors';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type Completion = OpenAI.Chat.Completions.ChatCompletion;
type Delta = Chunk['choices'][number]['delta'];
type Message = Completion['choices'][number]['message'];

/** A streamed tool-call piece as servers send it: Mistral's carry no `index`. */
type ToolCallPiece = Omit<NonNullable<Delta['tool_calls']>[number], 'index'> & { readonly index?: number };

/**
 * The reasoning a compatible server adds to the assistant's message (DeepSeek and xAI
 * `reasoning_content`, OpenRouter and Groq `reasoning`, OpenRouter `reasoning_details`): not in the
 * SDK's types, so read as untyped wire values.
 */
interface ReasoningWire {
  readonly reasoning_content?: unknown;
  readonly reasoning?: unknown;
  readonly reasoning_details?: unknown;
}

/**
 * The fields kept and sent back with the turn: providers that reason want their reasoning again
 * (DeepSeek refuses a tool-call turn without it). Nothing else of the message goes back: `refusal`,
 * `annotations` or `audio` are the provider's report to us, not part of the conversation.
 */
const REASONING_FIELDS = ['reasoning_content', 'reasoning', 'reasoning_details'] as const;

/** The string fields whose pieces a streamed `reasoning_details` entry carries, to be joined. */
const DETAIL_PIECES = new Set(['text', 'summary', 'signature', 'data']);

/** `usage` as compatible servers send it: DeepSeek names its cache hits its own way. */
type WireUsage = OpenAI.Completions.CompletionUsage & { readonly prompt_cache_hit_tokens?: number };

const NO_USAGE: Usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };

/** Collects streamed chunks into one response: content and reasoning in order, tool calls whole. */
export class ResponseAssembler {
  private text = '';
  private refusal = '';
  private readonly reasoning = new StreamedReasoning();
  private readonly calls = new StreamedToolCalls();
  private usage: Usage = NO_USAGE;
  private reasoningTokens: number | undefined;
  private model = '';
  private finishReason: string | null = null;

  /** Adds one chunk; returns true when the streamed content grew. */
  add(chunk: Chunk): boolean {
    if (!this.model && chunk.model) this.model = chunk.model;
    if (chunk.usage) {
      this.usage = usageOf(chunk.usage);
      this.reasoningTokens = reasoningTokensOf(chunk.usage);
    }
    const choice = chunk.choices?.[0];
    if (!choice) return false;
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    const delta: Delta & ReasoningWire = choice.delta ?? {};
    if (delta.refusal) this.refusal += delta.refusal;
    this.reasoning.add(delta);
    const pieces: readonly ToolCallPiece[] = delta.tool_calls ?? [];
    for (const piece of pieces) this.calls.add(piece);
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
   * tool call must never run), and an answer with neither text nor tool calls is `empty_answer`
   * unless it was cut off by the token limit.
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
    return settle(this.text || this.refusal, {
      toolCalls: this.calls.list(),
      usage: this.usage,
      model: this.model,
      finishReason: this.finishReason,
      providerFields: this.reasoning.fields(),
      reasoningTokens: this.reasoningTokens,
    });
  }
}

/** The response of a plain (not streamed) completion. */
export function fromCompletion(completion: Completion): ModelResponse {
  const choice = completion.choices?.[0];
  const message: (Message & ReasoningWire) | undefined = choice?.message;
  const toolCalls = (message?.tool_calls ?? []).flatMap((call) =>
    call.type === 'function'
      ? [toolCall(call.id, call.function.name, call.function.arguments, callExtra(call).extra)]
      : [],
  );
  return settle(message?.content ?? message?.refusal ?? '', {
    toolCalls,
    usage: completion.usage ? usageOf(completion.usage) : NO_USAGE,
    model: completion.model ?? '',
    finishReason: choice?.finish_reason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    providerFields: message ? keptFields(message) : undefined,
    reasoningTokens: completion.usage ? reasoningTokensOf(completion.usage) : undefined,
  });
}

interface Draft {
  readonly toolCalls: ToolCall[];
  readonly usage: Usage;
  readonly model: string;
  readonly finishReason: string;
  readonly providerFields: ProviderFields | undefined;
  readonly reasoningTokens: number | undefined;
}

function settle(content: string, draft: Draft): ModelResponse {
  const { toolCalls, providerFields, reasoningTokens } = draft;
  // An answer cut off by the token limit goes to the loop even when nothing but reasoning came:
  // asking again would only be cut off again, so the loop tells the person instead.
  if (content.trim() === '' && toolCalls.length === 0 && draft.finishReason !== 'length') {
    throw new EdgeError('transient', 'openai', 'empty_answer', 'The model returned an empty answer.');
  }
  return {
    content: content === '' ? null : content,
    toolCalls,
    usage: draft.usage,
    model: draft.model,
    finishReason: draft.finishReason,
    ...(providerFields !== undefined ? { providerFields } : {}),
    ...(reasoningTokens !== undefined ? { reasoningTokens } : {}),
  };
}

/** The reasoning fields the provider filled, under their wire names; undefined when none. */
function keptFields(wire: ReasoningWire): ProviderFields | undefined {
  const fields: Record<string, unknown> = {};
  for (const name of REASONING_FIELDS) {
    const value = wire[name];
    if ((typeof value === 'string' || Array.isArray(value)) && value.length > 0) fields[name] = value;
  }
  return Object.keys(fields).length > 0 ? fields : undefined;
}

/** Reasoning fields from their streamed pieces. */
class StreamedReasoning {
  private content = '';
  private reasoning = '';
  private readonly details: Record<string, unknown>[] = [];

  add(delta: ReasoningWire): void {
    if (typeof delta.reasoning_content === 'string') this.content += delta.reasoning_content;
    if (typeof delta.reasoning === 'string') this.reasoning += delta.reasoning;
    if (Array.isArray(delta.reasoning_details)) {
      for (const piece of delta.reasoning_details) this.addDetail(piece);
    }
  }

  fields(): ProviderFields | undefined {
    return keptFields({
      reasoning_content: this.content,
      reasoning: this.reasoning,
      reasoning_details: this.details,
    });
  }

  /**
   * OpenRouter streams a `reasoning_details` entry as pieces with the same `index`: its text and
   * signature arrive in parts, the rest (type, format, id) whole. The provider checks the signature
   * against the text, so both must come back joined, as one entry.
   */
  private addDetail(piece: unknown): void {
    if (typeof piece !== 'object' || piece === null || Array.isArray(piece)) return;
    const fields = piece as Record<string, unknown>;
    const entry =
      typeof fields.index === 'number' ? this.details.find((d) => d.index === fields.index) : undefined;
    if (!entry) {
      this.details.push({ ...fields });
      return;
    }
    for (const [key, value] of Object.entries(fields)) {
      const had = entry[key];
      if (DETAIL_PIECES.has(key) && typeof value === 'string') {
        entry[key] = (typeof had === 'string' ? had : '') + value;
      } else if (!(key in entry)) {
        entry[key] = value;
      }
    }
  }
}

interface PartialToolCall {
  id: string;
  name: string;
  arguments: string;
  extra?: ProviderFields;
  /** The server's index, else the order the call began in. */
  readonly order: number;
}

/**
 * Tool calls from their streamed pieces. A piece with an `index` belongs to that call. Without
 * one (Mistral), a new id starts a call, a known id continues it, and a piece with no id (or `""`,
 * as some servers repeat) continues the last call: two parallel calls never merge into one.
 */
class StreamedToolCalls {
  private readonly calls: PartialToolCall[] = [];
  private readonly byIndex = new Map<number, PartialToolCall>();
  private readonly byId = new Map<string, PartialToolCall>();
  private last: PartialToolCall | undefined;

  add(piece: ToolCallPiece): void {
    const id = piece.id ?? '';
    const index = typeof piece.index === 'number' ? piece.index : undefined;
    const call = index !== undefined ? this.byIndex.get(index) : id ? this.byId.get(id) : this.last;
    if (!call) {
      this.start(piece, id, index);
      return;
    }
    // The id and name come with a call's first delta; what follows are pieces of its arguments
    // (a few compatible servers also send the name in pieces).
    if (id && !call.id) {
      call.id = id;
      this.byId.set(id, call);
    }
    if (piece.function?.name) call.name = id ? piece.function.name : call.name + piece.function.name;
    if (piece.function?.arguments) call.arguments += piece.function.arguments;
    this.last = call;
  }

  /** The calls in the server's index order, else in the order they began. */
  list(): ToolCall[] {
    return [...this.calls]
      .sort((a, b) => a.order - b.order)
      .map((call) => toolCall(call.id, call.name, call.arguments, call.extra));
  }

  private start(piece: ToolCallPiece, id: string, index: number | undefined): void {
    const call: PartialToolCall = {
      id,
      name: piece.function?.name ?? '',
      arguments: piece.function?.arguments ?? '',
      order: index ?? this.calls.length,
      ...callExtra(piece),
    };
    this.calls.push(call);
    if (index !== undefined) this.byIndex.set(index, call);
    if (id) this.byId.set(id, call);
    this.last = call;
  }
}

function toolCall(id: string, name: string, args: string, extra?: ProviderFields): ToolCall {
  // A server that sends no id still needs one: the tool's result must name the call it answers.
  const call = { id: id || `call_${crypto.randomBytes(12).toString('hex')}`, name, arguments: args };
  return extra === undefined ? call : { ...call, extra };
}

/**
 * Gemini's `extra_content` on a call (its thought signature), which Gemini 3 refuses the next
 * request without: kept to be sent back with the call.
 */
function callExtra(call: object): { extra?: ProviderFields } {
  const extra = (call as { extra_content?: unknown }).extra_content;
  return typeof extra === 'object' && extra !== null ? { extra: { extra_content: extra } } : {};
}

function usageOf(usage: WireUsage): Usage {
  return {
    promptTokens: usage.prompt_tokens ?? 0,
    completionTokens: usage.completion_tokens ?? 0,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? usage.prompt_cache_hit_tokens ?? 0,
  };
}

function reasoningTokensOf(usage: WireUsage): number | undefined {
  // OpenAI reports 0 for every model that does not reason: only a turn that reasoned has a count
  const tokens = usage.completion_tokens_details?.reasoning_tokens;
  return typeof tokens === 'number' && tokens > 0 ? tokens : undefined;
}
