// What the person sees of an agent run while it goes: drafts of each model response's text, and
// the status message once a tool is called.
import type { AgentEvent } from '../agent/events';
import type { JournalStep } from '../agent/journal';
import type { Tool } from '../agent/ports';
import type { InboxRow } from '../queue/row';
import type { Store } from '../queue/store';
import { describeError } from '../shared/log';
import { shownText } from '../agent/thinking';
import { redact } from '../shared/redact';
import type { AnswerDeps } from './answer-deps';
import { openDrafts } from './answer-drafts';
import type { DraftStream } from './draft-stream';
import { RunProgress, type ProgressEnd } from './run-progress';
import { StatusMessage, type StatusTelegram } from './status-message';
import type { StatusPace } from './status-pace';

/** What a run's view needs: the answer's ports, and the run's steps and tools to show a resumed run. */
export interface RunViewDeps extends Pick<AnswerDeps, 'log' | 'now' | 'drafts' | 'showThinking'> {
  readonly store: Pick<Store, 'runOfItem' | 'setRunStatusMessage'>;
  readonly telegram: AnswerDeps['telegram'] & StatusTelegram;
  /** The run's steps as journalled. */
  readonly runSteps: (runId: number) => JournalStep[];
  readonly tools: readonly Tool[];
  readonly statusPace: StatusPace;
}

/**
 * What the person sees of a run while it goes: drafts of each model response's text (private
 * chats), and the status message once a tool is called.
 */
export class RunView {
  private progress: RunProgress | null = null;
  private status: StatusMessage | null = null;
  private drafts: DraftStream | null = null;
  private runId = 0;

  constructor(
    private readonly item: InboxRow,
    private readonly deps: RunViewDeps,
    private readonly signal: AbortSignal,
  ) {}

  /** One event of the loop; a failure here is logged, never the run's. */
  on(event: AgentEvent): void {
    try {
      this.take(event);
    } catch (err) {
      this.deps.log.warn('could not show the run progress', { error: describeError(err) });
    }
  }

  private take(event: AgentEvent): void {
    const { deps } = this;
    switch (event.type) {
      case 'run-start': {
        this.runId = event.runId;
        const run = deps.store.runOfItem(this.item.id);
        this.progress = new RunProgress(run?.startedAt ?? deps.now());
        if (event.opening !== 'new') this.progress.seed(deps.runSteps(event.runId), deps.tools);
        // an earlier attempt of the run sent its status message: this one edits it
        const known = run?.statusMessageId ?? null;
        if (known !== null) this.statusMessage(known);
        return;
      }
      case 'model-start':
        this.closeDrafts();
        this.drafts = openDrafts(deps, this.item.chatId!, this.signal);
        break;
      case 'text':
        // a thinking model's reasoning is no draft of its answer
        this.drafts?.push(redact(shownText(event.text, this.deps.showThinking)));
        return;
      case 'model-end':
        this.closeDrafts();
        break;
      default:
        break;
    }
    if (this.progress?.apply(event) === true) {
      (this.status ?? this.statusMessage(null)).show(this.progress.render(deps.now()));
    }
  }

  private statusMessage(messageId: number | null): StatusMessage {
    const { deps } = this;
    const runId = this.runId;
    this.status = new StatusMessage(this.item.chatId!, this.item.messageId, {
      telegram: deps.telegram,
      pace: deps.statusPace,
      log: deps.log,
      now: deps.now,
      messageId,
      onMessageId: (id) => deps.store.setRunStatusMessage(runId, id),
    });
    return this.status;
  }

  /** The run ended this way: the status message (if the run has one) says so. */
  finish(end: ProgressEnd): void {
    this.closeDrafts();
    if (this.progress === null || this.status === null) return;
    this.progress.finish(end);
    // not awaited: the status never holds up the answer or the next message
    void this.status.close(this.progress.render(this.deps.now()));
  }

  /** The worker is stopping or the attempt failed: no more updates from this attempt. */
  abandon(): void {
    this.closeDrafts();
    this.status?.abandon();
  }

  /** Ends the current response's drafts (a draft leaves nothing behind once the answer is sent). */
  closeDrafts(): void {
    this.drafts?.close();
    this.drafts = null;
  }
}
