import path from 'node:path';
import type { Logger } from '../../shared/log';
import { describeError } from '../../shared/log';
import { redact } from '../../shared/redact';
import type { InboxRow } from '../../queue/row';
import type { Store } from '../../queue/store';
import type { AnswerUsage } from '../../queue/settle';
import type { AgentEvent } from '../../agent/events';
import type { AgentJournal, JournalStep } from '../../agent/journal';
import {
  runAgent,
  type AgentApprovalSettings,
  type AgentLimits,
  type AgentResult,
  type ApprovalPort,
} from '../../agent/loop';
import type { ModelPort, Tool } from '../../agent/ports';
import { abortText } from '../../agent/abort-reasons';
import { contextFor } from '../chat-context';
import { ContextTooLongError } from '../errors';
import { DraftStream, type DraftSupport, type DraftTelegram } from '../draft-stream';
import { RunProgress, type ProgressEnd } from '../run-progress';
import { StatusMessage, type StatusTelegram } from '../status-message';
import type { StatusPace } from '../status-pace';
import type { TelegramClient } from '../telegram/client';
import { fireTestTrigger } from '../test-triggers';
import { withTyping } from '../typing';
import { settlingAborts, type Handler, type Outcome } from './handler';
import { deliverAnswer, refuseOverDailyLimit } from '../answer-delivery';
import { redactedDocument, redactingJournal, redactingTools } from '../redacting-ports';

/** The Bot API methods a run uses. */
export type RunTelegram = Pick<TelegramClient, 'sendMessage' | 'sendTyping' | 'sendDocument'> &
  DraftTelegram &
  StatusTelegram;

export interface AgentRunDeps {
  readonly store: Store;
  readonly telegram: RunTelegram;
  readonly model: ModelPort;
  readonly log: Logger;
  /** The model a chat uses now (its `/model` choice, else the default). */
  readonly modelFor: (chatId: number) => string;
  /**
   * The project an item's run works in, with its real path (created and git-inited on first
   * use): the chat's `/project`, or, for a run already begun, the project it began in.
   */
  readonly projectFor: (item: InboxRow) => Promise<{ readonly name: string; readonly root: string }>;
  /** The run's undo: a checkpoint before its first change, one commit of its changes at its end. */
  readonly undo?: {
    checkpoint(item: InboxRow, root: string): Promise<void>;
    /**
     * Commits what the run changed; returns a line for the answer (also when the commit was
     * skipped), or null when nothing changed. `signal` ends the commit's git.
     */
    commit(item: InboxRow, root: string, signal?: AbortSignal): Promise<string | null>;
  };
  /** Where each run gets its own folder (whole command outputs), outside every project. */
  readonly runsDir: string;
  readonly tools: readonly Tool[];
  readonly journal: AgentJournal;
  /** The run's steps as journalled, to show a resumed run's calls in its status message. */
  readonly runSteps: (runId: number) => JournalStep[];
  readonly limits: AgentLimits;
  readonly approval: AgentApprovalSettings;
  /** Shows approval cards (the approvals issue); without it, a call that needs approval is denied. */
  readonly askApproval?: (item: InboxRow, root: string) => ApprovalPort;
  readonly statusPace: StatusPace;
  /** Drafts in private chats: off, or the worker-wide support state and their pace. */
  readonly drafts: { readonly support: DraftSupport; readonly intervalMs: number } | null;
  readonly systemPrompt: string;
  readonly contextMaxTokens: number;
  /** Tokens a chat may use per UTC day; 0 is no limit. */
  readonly dailyTokensPerChat: number;
  readonly now: () => number;
  /** Test-only triggers (`WORKER_TEST_TRIGGERS=1`): `/__crash`, `/__hang`. */
  readonly testTriggers?: boolean;
}

/** What a run came to, for the handler. */
type RunEnd =
  | { readonly kind: 'answer'; readonly answer: string; readonly usage: AnswerUsage }
  | { readonly kind: 'outcome'; readonly outcome: Outcome };

/**
 * One message → one agent run → one reply. The run is journalled step by step (a kill loses
 * and repeats no step); its answer is stored before its first part is sent, so after a crash
 * the stored answer is sent and nothing is asked or run again. A run that calls tools shows its
 * progress in one status message; a plain question is answered exactly as a plain answer is.
 */
export class AgentRunHandler implements Handler {
  constructor(private readonly deps: AgentRunDeps) {}

  /**
   * Answers a text message of an allowed chat with a run. `/stop` cancels the run and skips the
   * item; a stopping worker releases the item and leaves the run to resume on the next start.
   */
  handle(item: InboxRow, signal: AbortSignal): Promise<Outcome> {
    return settlingAborts(signal, () => this.answer(item, signal));
  }

  private async answer(item: InboxRow, signal: AbortSignal): Promise<Outcome> {
    const { store, log } = this.deps;
    const text = item.text!;
    if (this.deps.testTriggers) await fireTestTrigger(text);
    let reply = item.reply;
    if (reply === null) {
      const begun = store.runOfItem(item.id);
      if (begun === undefined) {
        const refused = await refuseOverDailyLimit(this.deps, item, signal);
        if (refused) return refused;
      } else if (begun.status === 'failed' && store.reopenDeadRun(item.id, this.deps.now())) {
        // a message retried after it died (`queue retry`): its run goes on where it stood (asked
        // only of a failed run: the write it takes is not worth making for every message)
        log.info('reopened the run of a retried message', { id: item.id });
      }
      const end = await this.run(item, text, signal);
      if (end.kind === 'outcome') return end.outcome;
      // the answer is stored (history, resend after a crash) as it is sent: without secrets
      reply = redact(end.answer);
      store.storeAnswer(item, reply, end.usage, this.deps.now());
    }
    return deliverAnswer(this.deps, item, reply, signal);
  }

  /** Runs (or resumes) the item's run and maps its result. */
  private async run(item: InboxRow, text: string, signal: AbortSignal): Promise<RunEnd> {
    const chatId = item.chatId!;
    const view = new RunView(item, this.deps, signal);
    try {
      const { name: project, root } = await this.deps.projectFor(item);
      const result = await withTyping(this.deps.telegram, chatId, signal, () =>
        this.runWithContext(item, text, project, root, view, signal),
      );
      const end = this.end(item, result, view);
      // a parked run has not ended, and an interrupted one resumes: neither is committed yet
      if (result.status === 'parked' || result.status === 'interrupted') return end;
      if (this.deps.undo === undefined) return end;
      // a run that ended (cancelled too) leaves its changes as one commit, so /undo can take it back;
      // a /stop during the commit ends its git, but a run /stop already ended is committed anyway
      // (its signal is spent), within git's time limit; a stopping worker's abort makes the commit
      // throw, and the item is released: the resumed run, already finished, commits then
      const commitSignal = signal.aborted ? undefined : signal;
      const note = await this.deps.undo.commit(item, root, commitSignal);
      if (note === null) return end;
      if (end.kind === 'answer') return { ...end, answer: `${end.answer}\n\n${note}` };
      this.deps.log.info('committed the changes of a stopped run', { id: item.id });
      return end;
    } catch (err) {
      view.abandon();
      throw err;
    } finally {
      view.closeDrafts();
    }
  }

  /** The run; a context the model finds too long is trimmed harder and tried once more. */
  private async runWithContext(
    item: InboxRow,
    text: string,
    project: string,
    root: string,
    view: RunView,
    signal: AbortSignal,
  ): Promise<AgentResult> {
    const budget = this.deps.contextMaxTokens;
    try {
      return await this.runOnce(item, text, project, root, view, signal, budget);
    } catch (err) {
      if (!(err instanceof ContextTooLongError)) throw err;
      this.deps.log.warn('the model found the context too long; retrying with a quarter of the budget', {
        id: item.id,
      });
      return await this.runOnce(item, text, project, root, view, signal, Math.floor(budget / 4));
    }
  }

  private runOnce(
    item: InboxRow,
    text: string,
    project: string,
    root: string,
    view: RunView,
    signal: AbortSignal,
    budget: number,
  ): Promise<AgentResult> {
    const { deps } = this;
    const chatId = item.chatId!;
    const context = contextFor(deps.store, item, text, deps.systemPrompt, budget);
    return runAgent(
      {
        run: { inboxId: item.id, chatId, project },
        systemPrompt: deps.systemPrompt,
        history: context.slice(1, -1),
        userMessage: text,
        limits: deps.limits,
        approval: deps.approval,
        model: deps.modelFor(chatId),
      },
      {
        model: deps.model,
        // a secret a tool prints or the model writes reaches neither the model, the journal nor the chat
        tools: redactingTools(this.checkpointed(item, root)),
        journal: redactingJournal(deps.journal),
        toolContext: (runId) => ({
          root,
          runDir: path.join(deps.runsDir, String(runId)),
          sendFile: async (file, caption) => {
            const document = redactedDocument(file.bytes, caption);
            await deps.telegram.sendDocument(
              chatId,
              { buffer: document.bytes, filename: file.name },
              document.caption,
              item.messageId,
              signal,
            );
          },
        }),
        ...(deps.askApproval !== undefined ? { askApproval: deps.askApproval(item, root) } : {}),
        emit: (event) => view.on(event),
        now: deps.now,
        signal,
      },
    );
  }

  /**
   * The tools, each that changes things checkpointing the project first: a run that only talks
   * or reads costs no git at all (a checkpoint is two git commands), and the checkpoint is taken
   * once per run (it is stored, so a resumed run reuses it).
   */
  private checkpointed(item: InboxRow, root: string): readonly Tool[] {
    const undo = this.deps.undo;
    if (undo === undefined) return this.deps.tools;
    let taken: Promise<void> | undefined;
    return this.deps.tools.map((tool) =>
      tool.kind === 'read'
        ? tool
        : {
            ...tool,
            run: async (args, ctx) => {
              await (taken ??= undo.checkpoint(item, root));
              return tool.run(args, ctx);
            },
          },
    );
  }

  /** The model that made the run's last response, as the API named it. */
  private lastModel(item: InboxRow, result: AgentResult): string {
    return (
      this.deps
        .runSteps(result.runId)
        .filter((s) => s.kind === 'model')
        .at(-1)?.model ?? this.deps.modelFor(item.chatId!)
    );
  }

  /** The run's result as what the handler does next. */
  private end(item: InboxRow, result: AgentResult, view: RunView): RunEnd {
    const { log } = this.deps;
    log.info('agent run ended', {
      id: item.id,
      runId: result.runId,
      status: result.status,
      steps: result.steps,
    });
    switch (result.status) {
      case 'done':
      case 'limit':
      case 'failed': {
        view.finish(result.status);
        return {
          kind: 'answer',
          answer:
            result.answer ??
            `The run ended (${result.status}) without an answer; its steps are in \`autonous runs show ${result.runId}\`.`,
          usage: { model: this.lastModel(item, result), ...result.usage },
        };
      }
      case 'cancelled':
        view.finish('cancelled');
        // what the stopped run's model calls cost still counts (/usage, the daily limit)
        if (result.usage.promptTokens + result.usage.completionTokens > 0) {
          this.deps.store.recordUsage(
            { chatId: item.chatId!, inboxId: item.id, model: this.lastModel(item, result), ...result.usage },
            this.deps.now(),
          );
        }
        return { kind: 'outcome', outcome: { kind: 'skipped', reason: abortText('stopped-by-user') } };
      case 'parked': {
        view.finish('parked');
        const approval = this.deps.journal.approvals(result.runId).find((a) => a.id === result.approvalId);
        return {
          kind: 'outcome',
          outcome: { kind: 'parked', until: approval?.expiresAt ?? null, reason: 'waiting for an approval' },
        };
      }
      case 'interrupted':
        // the worker is stopping: the item goes back uncounted, the run resumes on the next start
        view.abandon();
        return { kind: 'outcome', outcome: { kind: 'released' } };
    }
  }
}

/**
 * What the person sees of a run while it goes: drafts of each model response's text (private
 * chats), and the status message once a tool is called.
 */
class RunView {
  private progress: RunProgress | null = null;
  private status: StatusMessage | null = null;
  private drafts: DraftStream | null = null;
  private runId = 0;

  constructor(
    private readonly item: InboxRow,
    private readonly deps: AgentRunDeps,
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
        // drafts exist in private chats only (a private chat's id is the person's user id, > 0)
        if (deps.drafts && this.item.chatId! > 0) {
          this.drafts = new DraftStream(this.item.chatId!, {
            ...deps.drafts,
            telegram: deps.telegram,
            log: deps.log,
            now: deps.now,
            signal: this.signal,
          });
        }
        break;
      case 'text':
        this.drafts?.push(redact(event.text));
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

  closeDrafts(): void {
    this.drafts?.close();
    this.drafts = null;
  }
}
