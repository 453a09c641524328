// When and how a session is compacted (after pi-mono's coding agent): when a request would pass
// the model's window less a reserve, the older part of the transcript is replaced by a structured
// summary the model writes, merged with the previous one; the newest part is kept verbatim and
// never cut between a tool call and its result. Pure: the loop asks the model and journals.

import type { AgentMessage } from './ports';
import type { TranscriptEntry } from './transcript';

/** Context windows of known models (tokens), by name prefix; the longest prefix that fits wins. */
const KNOWN_WINDOWS: readonly (readonly [string, number])[] = [
  ['gpt-4o', 128_000],
  ['gpt-4.1', 1_047_576],
  ['gpt-4-turbo', 128_000],
  ['gpt-4', 8_192],
  ['gpt-3.5-turbo', 16_385],
  ['gpt-5', 400_000],
  ['o1', 200_000],
  ['o3', 200_000],
  ['o4-mini', 200_000],
  ['deepseek', 128_000],
  ['grok', 131_072],
  ['mistral-large', 128_000],
  ['qwen', 32_768],
  ['llama', 128_000],
  ['gemini', 1_048_576],
  ['claude', 200_000],
];

/** The window of a model not in the table. */
export const DEFAULT_WINDOW = 128_000;

/** The model's context window: `configured` (AGENT_CONTEXT_TOKENS) when set, else from the table. */
export function contextWindow(model: string, configured: number): number {
  if (configured > 0) return configured;
  const name = model.toLowerCase().replace(/^.*\//, '');
  let best: readonly [string, number] | undefined;
  for (const entry of KNOWN_WINDOWS) {
    if (name.startsWith(entry[0]) && (best === undefined || entry[0].length > best[0].length)) best = entry;
  }
  return best?.[1] ?? DEFAULT_WINDOW;
}

/** How a window is spent: compact past `threshold`, keep `keepRecent` tokens verbatim. */
export interface CompactionBudget {
  readonly window: number;
  /** Room left for the answer and the next step's results: the window less this is the threshold. */
  readonly reserve: number;
  readonly threshold: number;
  /** How much of the newest transcript a compaction keeps as it is. */
  readonly keepRecent: number;
  /** The longest summary that counts as fitting. */
  readonly maxSummary: number;
}

/**
 * pi-mono's 16,384-token reserve and ~20k kept tokens, scaled down for a small window: a 12,000
 * token window still compacts at 9,000 and keeps 3,600, leaving room to work.
 */
export function compactionBudget(window: number): CompactionBudget {
  const reserve = Math.min(16_384, Math.floor(window / 4));
  return {
    window,
    reserve,
    threshold: window - reserve,
    keepRecent: Math.min(20_000, Math.floor(window * 0.3)),
    maxSummary: Math.max(512, Math.min(8_000, Math.floor(window / 8))),
  };
}

/**
 * Where to cut `entries` (those past the last compaction): the index of the first one kept. The
 * newest entries that fit `keepRecent` are kept, and always the newest one; a cut that would fall
 * between a tool call and its results moves back to the call, so they stay together (a batch of
 * results bigger than `keepRecent` is kept whole). 0 means there is nothing older to compact.
 */
export function planCut(entries: readonly TranscriptEntry[], keepRecent: number): number {
  let kept = 0;
  let cut = entries.length;
  while (cut > 0 && kept + entries[cut - 1]!.tokens <= keepRecent) {
    kept += entries[cut - 1]!.tokens;
    cut--;
  }
  cut = Math.min(cut, entries.length - 1);
  while (cut > 0 && entries[cut]!.message.role === 'tool') cut--;
  return Math.max(cut, 0);
}

/** The opening of the request that asks for a summary (the benchmark's fake model looks for it). */
export const SUMMARY_REQUEST_OPENING = 'Summarize the conversation so far';

/**
 * The last message of a compaction's request: what the summary must hold. `hasImages`: the part
 * summarized holds images the person sent, which go with it, so the summary must say what they show.
 */
export function summaryRequest(hasPrevious: boolean, keep?: string, hasImages = false): AgentMessage {
  const lines = [
    `${SUMMARY_REQUEST_OPENING}, so that you can go on with the work from the summary alone: the older part of this conversation will be replaced by it. Do not call tools; answer with the summary only, under these headings:`,
    '## Goal — what the person wants, in their words where it matters',
    '## Decisions — what was decided, and why',
    '## Files — each file read or changed, with its state now (what it holds that matters, what was changed)',
    '## Commands — each command that mattered, and its outcome',
    ...(hasImages
      ? [
          '## Images — each image the person sent: its path, and what it shows that matters, in enough detail to go on without it (the images are dropped with this part)',
        ]
      : []),
    '## Open questions',
    '## Next step',
  ];
  if (hasPrevious)
    lines.push(
      '',
      'The conversation opens with the summary of an earlier compaction: merge it in, keeping what still matters.',
    );
  if (keep !== undefined && keep !== '') lines.push('', `Keep in particular: ${keep}`);
  return { role: 'user', content: lines.join('\n') };
}

/**
 * The messages to summarize, with tool results longer than `maxChars` shortened (a note says so),
 * for a compaction whose input would not fit the window as it is.
 */
export function shortened(messages: readonly AgentMessage[], maxChars: number): AgentMessage[] {
  return messages.map((m) =>
    m.role === 'tool' && m.content.length > maxChars
      ? {
          ...m,
          content: `${m.content.slice(0, maxChars)}\n[… ${m.content.length - maxChars} more characters left out for the summary]`,
        }
      : m,
  );
}
