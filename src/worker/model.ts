import OpenAI from 'openai';
import type { ChatMessage } from './context';
import { EdgeError } from './errors';
import { classifyOpenAIError } from './openai/errors';

export { classifyOpenAIError };

/** Asks the model for the answer to a context. Injected, so the processor is testable offline. */
export type ModelCall = (messages: readonly ChatMessage[], signal?: AbortSignal) => Promise<string>;

export interface ModelOptions {
  readonly apiKey: string;
  readonly baseUrl: string;
  readonly model: string;
  readonly timeoutSeconds: number;
}

/** A `ModelCall` through the official SDK; every failure becomes an `EdgeError`. */
export function createModelCall(options: ModelOptions): ModelCall {
  // SDK retries are off: the queue owns retries, so attempts are counted and visible
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseUrl,
    maxRetries: 0,
    timeout: options.timeoutSeconds * 1000,
  });
  return async (messages, signal) => {
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      completion = await client.chat.completions.create(
        { model: options.model, messages: messages.map((m) => ({ role: m.role, content: m.content })) },
        { signal },
      );
    } catch (err) {
      throw classifyOpenAIError(err);
    }
    const choice = completion.choices?.[0];
    const content = choice?.message?.content ?? choice?.message?.refusal ?? null;
    if (content === null || content.trim() === '') {
      throw new EdgeError('transient', 'openai', 'empty_answer', 'The model returned an empty answer.');
    }
    return content;
  };
}
