// A session's transcript as the model reads it: every run's message, every model response with its
// tool calls, every tool result and every message steered into a run, in order, rendered by one
// function from the journal. The loop renders its own run with it too, so the request that ends a
// run and the first request of the next one agree byte for byte on everything they share. Pure.

import type { JournalStep, SessionRun, TranscriptPosition } from './journal';
import type { AgentMessage } from './ports';
import { estimateTokens } from '../shared/tokens';

/** One message of the transcript, where it comes from, and what it costs. */
export interface TranscriptEntry {
  readonly at: TranscriptPosition;
  readonly message: AgentMessage;
  readonly tokens: number;
}

/** The seq of a finished run's closing answer when no model step holds it (a limit, a failure). */
export const CLOSING_SEQ = Number.MAX_SAFE_INTEGER;

// Each message costs a few tokens of framing on top of its content (OpenAI's cookbook counts 3).
const MESSAGE_OVERHEAD = 4;

/**
 * What an image is counted as. OpenAI counts 85 tokens plus 170 per 512-px tile at high detail: a
 * 1280×960 photo (scaled to 1024×768, 4 tiles) is 765; other providers count alike or less. A
 * round figure above that keeps the estimate on the safe side of the window.
 */
export const IMAGE_TOKENS = 1_000;

/** What a result says for a call of a finished run that never got one (the run was stopped). */
export const NOT_RUN_RESULT = 'not run: the run ended before this call';

/** About how many tokens a message costs the model; `count` estimates a text (`estimateTokens`). */
export function messageTokens(
  message: AgentMessage,
  count: (text: string) => number = estimateTokens,
): number {
  let tokens = MESSAGE_OVERHEAD + count(message.content ?? '');
  if (message.role === 'user') tokens += (message.images?.length ?? 0) * IMAGE_TOKENS;
  if (message.role === 'assistant') {
    for (const call of message.toolCalls ?? []) tokens += count(call.name + call.arguments) + 8;
    if (message.providerFields !== undefined) tokens += count(JSON.stringify(message.providerFields));
  }
  return tokens;
}

/**
 * `estimateTokens` remembering what it counted: a run renders its transcript before every model
 * call, and counting a long session again each time (about 20 ms per 500 KB) adds up.
 */
export function memoizedCount(): (text: string) => number {
  const known = new Map<string, number>();
  return (text) => {
    let tokens = known.get(text);
    if (tokens === undefined) {
      tokens = estimateTokens(text);
      known.set(text, tokens);
    }
    return tokens;
  };
}

/** Whether position `a` comes after `b`. */
export function isAfter(a: TranscriptPosition, b: TranscriptPosition): boolean {
  return a.runId > b.runId || (a.runId === b.runId && a.seq > b.seq);
}

/**
 * A run's part of the transcript: its message (with the images sent with it), then its steps. A
 * run still working (`open`) shows only settled calls (the loop asks the model only once all
 * are); a run that ended shows every call (a call that never ran gets NOT_RUN_RESULT, since every
 * call needs a result) and, when no model response holds what the person was answered (a limit, a
 * failure), that answer.
 */
export function runEntries(
  run: Pick<SessionRun, 'id' | 'message' | 'images' | 'answer' | 'steps'>,
  open: boolean,
  tokensOf: (message: AgentMessage) => number = messageTokens,
): TranscriptEntry[] {
  const entries: TranscriptEntry[] = [];
  const add = (seq: number, message: AgentMessage): void => {
    entries.push({ at: { runId: run.id, seq }, message, tokens: tokensOf(message) });
  };
  if (run.message !== null) {
    const images = run.images ?? [];
    add(0, { role: 'user', content: run.message, ...(images.length > 0 ? { images } : {}) });
  }
  for (const step of run.steps) {
    const message = stepMessage(step, open);
    if (message !== undefined) add(step.seq, message);
  }
  const last = run.steps.at(-1);
  const answered = last?.kind === 'model' && last.toolCalls.length === 0;
  if (!open && !answered && run.answer !== null && run.answer !== '') {
    add(CLOSING_SEQ, { role: 'assistant', content: run.answer });
  }
  return entries;
}

function stepMessage(step: JournalStep, open: boolean): AgentMessage | undefined {
  switch (step.kind) {
    case 'user':
      return { role: 'user', content: step.content };
    case 'model':
      if (step.toolCalls.length === 0) return { role: 'assistant', content: step.content };
      // a provider's reasoning goes back with a turn that called tools (DeepSeek refuses such a
      // turn without it), never with an answer (DeepSeek's reasoner refuses that)
      return {
        role: 'assistant',
        content: step.content,
        toolCalls: step.toolCalls,
        ...(step.providerFields !== undefined ? { providerFields: step.providerFields } : {}),
      };
    case 'tool':
      if (step.result !== undefined)
        return { role: 'tool', toolCallId: step.toolCallId, content: step.result.content };
      return open ? undefined : { role: 'tool', toolCallId: step.toolCallId, content: NOT_RUN_RESULT };
  }
}
