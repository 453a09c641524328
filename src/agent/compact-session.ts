// One compaction of a session, for a run between its steps and for `/compact` between runs: the
// model summarizes the transcript before the cut, with the request's own prefix and tools (so the
// provider's cache serves it too), and the summary is journalled before anything uses it. A kill
// during the call leaves nothing stored, so the call is asked again; a stored one never is.

import { planCut, shortened, summaryRequest, type CompactionBudget } from './compaction';
import { summaryMessage, type Request } from './context-builder';
import type { AgentJournal, CompactionRecord } from './journal';
import type { AgentMessage, ModelPort, ModelRequestOptions, ModelResponse, ToolSpec } from './ports';
import { estimateTokens } from '../shared/tokens';
import type { TranscriptEntry } from './transcript';

/** What a compaction works on and with. */
export interface CompactionJob {
  readonly sessionId: number;
  /** The run it happens in; null for `/compact` between runs. */
  readonly runId: number | null;
  /** The request as it stands (built by `buildRequest` with `previous`). */
  readonly request: Request;
  readonly systemPrompt: string;
  readonly previous: CompactionRecord | null;
  readonly budget: CompactionBudget;
  /** How many of the newest tokens to keep as they are. */
  readonly keepTokens: number;
  /** `/compact`'s "what to keep". */
  readonly keep?: string;
  readonly tools: readonly ToolSpec[];
  readonly model: ModelPort;
  /** The signal, the model and the cache key of the session's requests. */
  readonly options: ModelRequestOptions;
  readonly journal: Pick<AgentJournal, 'recordCompaction'>;
  readonly now: () => number;
  /**
   * What a failed summary does: `drop` the older part all the same (a run must get under the
   * window to go on), or `keep` the session as it is (`/compact`: the person may try again).
   */
  readonly onFailure: 'drop' | 'keep';
}

/** How a compaction went: stored (as a summary, or `dropped` with why), nothing to do, or cancelled. */
export type CompactionOutcome =
  | {
      readonly kind: 'stored';
      readonly record: CompactionRecord;
      readonly response?: ModelResponse;
      /** Why the summary failed, when the record is `dropped`. */
      readonly failure?: string;
    }
  /** The summary failed and the session was left as it is (`onFailure: 'keep'`). */
  | { readonly kind: 'failed'; readonly failure: string; readonly response?: ModelResponse }
  | { readonly kind: 'nothing' }
  | { readonly kind: 'aborted' };

/**
 * Compacts the session once: summarizes the entries before the cut, merged with the previous
 * summary. When the summary fails (an error, no text, cut off, too long), the part before the cut
 * is dropped and the previous summary kept (the record says `dropped`), or, with
 * `onFailure: 'keep'`, nothing is stored.
 */
export async function compactSession(job: CompactionJob): Promise<CompactionOutcome> {
  const { request, previous, budget } = job;
  const { entries } = request;
  const cut = planCut(entries, job.keepTokens);
  if (cut === 0) return { kind: 'nothing' };
  const priorSummary = previous === null ? undefined : summaryMessage(previous);
  const head: AgentMessage[] = [];
  if (job.systemPrompt !== '') head.push({ role: 'system', content: job.systemPrompt });
  if (priorSummary !== undefined) head.push(priorSummary);
  const keptTokens = sumTokens(entries.slice(cut));
  // what the request holds besides the transcript: the prefix, the tools, the old summary
  const aside = request.tokens - sumTokens(entries);
  let body = entries.slice(0, cut).map((e) => e.message);
  // a part too big to summarize in one call goes with its long results shortened
  if (request.tokens - keptTokens > budget.threshold) body = shortened(body, 2_000);
  let summary: string | undefined;
  let failure: string | undefined;
  let response: ModelResponse | undefined;
  try {
    response = await job.model(
      [...head, ...body, summaryRequest(priorSummary !== undefined, job.keep, hasImages(body))],
      job.tools,
      {
        ...job.options,
        toolChoice: 'none',
      },
    );
    const text = response.content?.trim() ?? '';
    if (response.toolCalls.length > 0 || text === '') failure = 'the model wrote no summary';
    else if (response.finishReason === 'length') failure = 'the summary was cut off';
    else if (estimateTokens(text) > budget.maxSummary) failure = 'the summary was too long';
    else summary = text;
  } catch (err) {
    if (job.options.signal?.aborted === true) return { kind: 'aborted' };
    failure = `the summary call failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (failure !== undefined && job.onFailure === 'keep') {
    return { kind: 'failed', failure, ...(response !== undefined ? { response } : {}) };
  }
  const kept = summary ?? previous?.summary ?? null;
  const oldSummaryTokens = priorSummary === undefined ? 0 : estimateTokens(priorSummary.content ?? '');
  const record = job.journal.recordCompaction(
    {
      sessionId: job.sessionId,
      runId: job.runId,
      kind: summary !== undefined ? 'summary' : 'dropped',
      through: entries[cut - 1]!.at,
      summary: kept,
      ...(job.keep !== undefined && job.keep !== '' ? { instructions: job.keep } : {}),
      tokensBefore: request.tokens,
      tokensAfter: aside - oldSummaryTokens + (kept === null ? 0 : estimateTokens(kept)) + keptTokens,
      ...(response !== undefined ? { model: response.model, usage: response.usage } : {}),
    },
    job.now(),
  );
  return {
    kind: 'stored',
    record,
    ...(response !== undefined ? { response } : {}),
    ...(failure !== undefined ? { failure } : {}),
  };
}

/** Whether a message of the person among `messages` carries images (they go with the summary). */
function hasImages(messages: readonly AgentMessage[]): boolean {
  return messages.some((m) => m.role === 'user' && (m.images?.length ?? 0) > 0);
}

function sumTokens(entries: readonly TranscriptEntry[]): number {
  return entries.reduce((n, e) => n + e.tokens, 0);
}
