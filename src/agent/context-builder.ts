// The messages of a request, built in one place for runs, compactions and `/status`: a stable
// prefix (the system prompt with the project's instructions; the tools go beside it, in a fixed
// order), then the session's summary if it was compacted, then its transcript past the summary.
// Nothing in it changes between two requests of a session but what the transcript added at its
// end, so consecutive requests share their prefix byte for byte and the provider's cache holds. Pure.

import type { CompactionRecord } from './journal';
import type { AgentMessage, Tool, ToolSpec } from './ports';
import { estimateTokens } from '../shared/tokens';
import { isAfter, messageTokens, type TranscriptEntry } from './transcript';

/** The opening of the message that carries a compacted session's summary. */
export const SUMMARY_OPENING = 'Summary of this session so far (its earlier part was compacted):';

/** The request's messages, the transcript entries in it, and its estimated tokens. */
export interface Request {
  readonly messages: AgentMessage[];
  /** The transcript entries past the compaction, as sent. */
  readonly entries: readonly TranscriptEntry[];
  readonly tokens: number;
}

/** The message that stands for the compacted part of a session. */
export function summaryMessage(compaction: CompactionRecord): AgentMessage | undefined {
  if (compaction.summary === null) return undefined;
  return { role: 'user', content: `${SUMMARY_OPENING}\n\n${compaction.summary}` };
}

/** The tools as a request offers them: their contracts only, in the order given. */
export function toolSpecs(tools: readonly Tool[]): ToolSpec[] {
  return tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
}

/** About how many tokens the tools' schemas cost in a request. */
export function toolsTokens(tools: readonly ToolSpec[]): number {
  return tools.length === 0 ? 0 : estimateTokens(JSON.stringify(tools));
}

/**
 * A request: the system message (when not empty), the summary of the newest compaction, and the
 * transcript entries after it. `extraTokens` adds what goes beside the messages (the tools).
 */
export function buildRequest(
  system: string,
  compaction: CompactionRecord | null,
  transcript: readonly TranscriptEntry[],
  extraTokens = 0,
): Request {
  const messages: AgentMessage[] = [];
  let tokens = extraTokens;
  if (system !== '') {
    const message: AgentMessage = { role: 'system', content: system };
    messages.push(message);
    tokens += messageTokens(message);
  }
  let entries = transcript;
  if (compaction !== null) {
    const summary = summaryMessage(compaction);
    if (summary !== undefined) {
      messages.push(summary);
      tokens += messageTokens(summary);
    }
    entries = transcript.filter((e) => isAfter(e.at, compaction.through));
  }
  for (const entry of entries) {
    messages.push(entry.message);
    tokens += entry.tokens;
  }
  return { messages, entries, tokens };
}
