// `/compact [what to keep]` and the session's lines of `/status`, on the session the chat's next run
// would join. `/compact` is an answer-lane command: it waits for the chat's run instead of
// compacting a session a run is adding to.

import { compactionBudget } from '../agent/compaction';
import { compactSession } from '../agent/compact-session';
import type { AgentJournal } from '../agent/journal';
import type { ModelPort } from '../agent/ports';
import { cachedShare, shareText } from '../shared/cached-share';
import { redact } from '../shared/redact';
import { seconds } from '../shared/seconds';
import type { InboxRow } from '../queue/row';
import { INSTRUCTIONS_MAX_BYTES } from '../workspace/project-instructions';
import { nextRequest, type NextRunDeps } from './chat-session';
import { withProjectImages } from './images';
import type { SessionCommandsPort } from './handlers/command';

/** What the session commands need beyond what sets up a run. */
export interface SessionCommandsDeps extends NextRunDeps {
  readonly model: ModelPort;
  /** Whether a model is given images (OPENAI_VISION): a summary describes the images it replaces. */
  readonly acceptsImages: (model: string) => boolean;
  /** Where a compaction is stored (redacting, as a run's journal is). */
  readonly journal: Pick<AgentJournal, 'recordCompaction'>;
}

/** What `/compact` says when the session has nothing older than its newest message. */
export const NOTHING_TO_COMPACT = 'Nothing to compact yet: the session holds only its newest message.';

/** `/compact` and the session's `/status` lines. */
export class SessionCommands implements SessionCommandsPort {
  constructor(private readonly deps: SessionCommandsDeps) {}

  /**
   * Compacts the session now, keeping only its newest message verbatim, with the summary call's
   * usage counted for the chat. The reply is stored before it is sent, so a retry (the send
   * failed) says it again instead of compacting the summary once more.
   */
  async compact(item: InboxRow, keep: string, signal: AbortSignal): Promise<string> {
    if (item.reply !== null) return item.reply;
    const { store, now } = this.deps;
    const chatId = item.chatId!;
    const next = await nextRequest(this.deps, { id: item.id, chatId, threadId: item.threadId });
    const outcome = await compactSession({
      sessionId: next.sessionId,
      runId: null,
      request: next.request,
      systemPrompt: next.systemPrompt,
      previous: next.session.compaction,
      budget: compactionBudget(next.window),
      keepTokens: 0,
      ...(keep !== '' ? { keep } : {}),
      tools: next.tools,
      model: withProjectImages(this.deps.model, next.root, this.deps.acceptsImages, next.model),
      options: {
        signal,
        model: next.model,
        ...(next.cacheKey !== undefined ? { cacheKey: next.cacheKey } : {}),
      },
      journal: this.deps.journal,
      now,
      // asked for by the person: a failed summary leaves the session as it was, to try again
      onFailure: 'keep',
    });
    // the handler turns a stopped command's abort into its outcome (skipped or released)
    if (outcome.kind === 'aborted') throw signal.reason;
    let text = NOTHING_TO_COMPACT;
    if (outcome.kind === 'stored' || outcome.kind === 'failed') {
      const { response } = outcome;
      if (response !== undefined)
        store.recordUsage({ chatId, inboxId: item.id, model: response.model, ...response.usage }, now());
    }
    if (outcome.kind === 'stored') {
      const { record } = outcome;
      text = `Compacted this session: about ${record.tokensBefore} → ${record.tokensAfter} tokens (window ${next.window}).`;
    } else if (outcome.kind === 'failed') {
      // a provider's error may quote what it was sent: nothing secret goes to the chat
      text = `The summary failed (${redact(outcome.failure)}), so the session was left as it was; /compact again to retry.`;
    }
    store.storeReply(item.id, text);
    return text;
  }

  /**
   * The session's size as its next run would send it, against the model's window; its last
   * compaction; the share of its last request the provider's cache served; the project's
   * instructions file (runs with tools only: without, there is no project).
   */
  async statusLines(item: InboxRow): Promise<string[]> {
    const { store, now } = this.deps;
    const next = await nextRequest(this.deps, { id: item.id, chatId: item.chatId!, threadId: item.threadId });
    const { request, window, instructions } = next;
    const last = next.session.compaction;
    const usage = store.lastModelUsage(next.sessionId);
    return [
      `Session: about ${request.tokens} tokens of a ${window}-token window (${Math.round((request.tokens / window) * 100)}%)`,
      last === null
        ? 'Last compaction: none'
        : `Last compaction: ${seconds(now() - last.createdAt)} ago, about ${last.tokensBefore} → ${last.tokensAfter} tokens${last.kind === 'dropped' ? ', dropped (its summary failed)' : ''}`,
      `Cached: ${shareText(usage === undefined ? null : cachedShare(usage))} of the last request`,
      ...(next.inProject
        ? [
            instructions === null
              ? 'Instructions: none (add AGENTS.md to the project)'
              : `Instructions: ${instructions.file} (${(instructions.bytes / 1024).toFixed(1)} KB${instructions.truncated ? `, cut at ${INSTRUCTIONS_MAX_BYTES / 1024} KB` : ''})`,
          ]
        : []),
    ];
  }
}
