/** One chat-completions message. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

import { estimateTokens } from '../shared/tokens';
import type { Turn } from '../queue/history';

export { estimateTokens };
export type { Turn };

// Each message costs a few tokens of framing on top of its content (OpenAI's cookbook counts 3).
const MESSAGE_OVERHEAD = 4;

/** Tokens of one message as the model will count them (content plus framing). */
export function messageTokens(content: string, count: (text: string) => number = estimateTokens): number {
  return count(content) + MESSAGE_OVERHEAD;
}

/** What the model is sent, by part: callers take the part they need instead of slicing a list. */
export interface Context {
  readonly system: string;
  /** The past turns that fit, oldest first; never starting with an assistant turn. */
  readonly history: readonly ChatMessage[];
  readonly message: string;
}

/** The context as one list of chat-completions messages: system, history, the user's message. */
export function contextMessages(context: Context): ChatMessage[] {
  return [
    { role: 'system', content: context.system },
    ...context.history,
    { role: 'user', content: context.message },
  ];
}

/**
 * What is sent to the model: the system prompt, as many past turns as fit the budget (newest
 * kept first), and the user's message. The system prompt and the message itself are always sent;
 * older turns are dropped whole, never cut in the middle. Pure: the token counter is an argument.
 */
export function buildContext(
  systemPrompt: string,
  past: readonly Turn[],
  message: string,
  budgetTokens: number,
  count: (text: string) => number = estimateTokens,
): Context {
  let used = messageTokens(systemPrompt, count) + messageTokens(message, count);
  const kept: ChatMessage[] = [];
  for (let i = past.length - 1; i >= 0; i--) {
    const turn = past[i]!;
    // a turn's estimate is stored with it, so a long history is not re-counted for every message
    const cost =
      turn.tokens != null && count === estimateTokens
        ? turn.tokens + MESSAGE_OVERHEAD
        : messageTokens(turn.text, count);
    if (used + cost > budgetTokens) break;
    used += cost;
    kept.push({ role: turn.role, content: turn.text });
  }
  kept.reverse();
  // A context that starts with an assistant turn reads oddly to the model: drop it.
  while (kept[0]?.role === 'assistant') kept.shift();
  return { system: systemPrompt, history: kept, message };
}
