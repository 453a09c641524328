import path from 'node:path';
import { redact } from '../../shared/redact';
import type { InboxRow } from '../../queue/row';
import type { AnswerUsage } from '../../queue/settle';
import type { AgentJournal, JournalStep, UserStep } from '../../agent/journal';
import type { AgentEvent } from '../../agent/events';
import { contextWindow } from '../../agent/compaction';
import { shownText } from '../../agent/thinking';
import {
  runAgent,
  type AgentApprovalSettings,
  type AgentLimits,
  type AgentResult,
  type ApprovalPort,
} from '../../agent/loop';
import type { Tool } from '../../agent/ports';
import { abortText } from '../../agent/abort-reasons';
import type { AnswerDeps, AnswerTelegram } from '../answer-deps';
import { sendNotice } from '../replier';
import { promptCacheKey } from '../openai/cache-key';
import { systemPromptWith, type ProjectInstructions } from '../../workspace/project-instructions';
import { RunView } from '../run-view';
import type { StatusTelegram } from '../status-message';
import type { StatusPace } from '../status-pace';
import type { TelegramClient } from '../telegram/client';
import { fireTestTrigger } from '../test-triggers';
import { withTyping } from '../typing';
import { settlingAborts, type Handler, type Outcome } from './handler';
import { deliverAnswer, refuseOverDailyLimit } from '../answer-delivery';
import { redactedDocument, redactingJournal, redactingTools } from '../redacting-ports';
import type { ImageRef } from '../../agent/ports';
import { withProjectImages } from '../images';
import { prepareMessage, type MessageFilesDeps } from '../message-files';
import { sendFileToChat } from '../telegram/send-file';

/** The Bot API methods a run uses. */
export type RunTelegram = AnswerTelegram &
  Pick<TelegramClient, 'sendDocument' | 'sendPhoto'> &
  StatusTelegram;

/** What a run needs beyond what every answer does. */
export interface AgentRunDeps extends AnswerDeps {
  readonly telegram: RunTelegram;
  /**
   * The project an item's run works in, with its real path (created and git-inited on first
   * use): the chat's `/project`, or, for a run already begun, the project it began in. Absent
   * when the run has no tools (a plain answer, `AGENT_TOOLS=off`): it works in no project, so no
   * folder is made for it.
   */
  readonly projectFor?: (item: InboxRow) => Promise<Project>;
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
  /** The run's budgets; what a cached token weighs comes from the model's price (`sessions`). */
  readonly limits: Omit<AgentLimits, 'cachedWeight'>;
  readonly approval: AgentApprovalSettings;
  /** Shows approval cards (the approvals issue); without it, a call that needs approval is denied. */
  readonly askApproval?: (item: InboxRow, root: string) => ApprovalPort;
  readonly statusPace: StatusPace;
  readonly sessions: SessionDeps;
  /** Makes a message's files ready (saved, transcribed); absent, a message with a file is refused. */
  readonly files?: MessageFilesDeps;
  /** Whether `model` is given images (OPENAI_VISION); a model that is not is told their paths only. */
  readonly acceptsImages: (model: string) => boolean;
  /** The `release` tool's port (AGENT_SELF=on): prepares a release of project self for the item. */
  readonly release?: (
    item: InboxRow,
    project: string,
    signal: AbortSignal,
  ) => Promise<{ readonly ok: boolean; readonly text: string }>;
}

/** What joins a run to its session: the conversation before it, and the messages during it. */
export interface SessionDeps {
  /** Where the session a new run of the item joins starts (`RunRequest.sessionFrom`). */
  sessionFrom(item: InboxRow): number;
  /** AGENT_CONTEXT_TOKENS: the window the session is compacted under (0: the model's, from a table). */
  readonly contextTokens: number;
  /** Whether requests carry `prompt_cache_key` (OPENAI_PROMPT_CACHE_KEY). */
  readonly promptCacheKey: boolean;
  /** Takes the chat's waiting messages into a working run (AGENT_BUSY=steer); absent: they wait. */
  readonly steer?: (runId: number) => UserStep[];
  /** Stores the run's answer on the messages steered into it. */
  answerSteered(runId: number, reply: string): void;
  /** What a cached prompt token of `model` weighs in the run's budget (its share of the input price). */
  cachedWeight(model: string): number;
  /** The project's AGENTS.md, read at the start of each run (null: none). */
  instructions(root: string): Promise<ProjectInstructions | null>;
}

/** What a person is told when their message was given to the run in progress. */
export const STEERED_NOTICE = 'Added to the run in progress: its answer covers this message too.';

/** The project a run works in: its name (stored with the run) and its real path. */
interface Project {
  readonly name: string;
  readonly root: string;
}

/** Where a run with no tools works: nowhere, since nothing it does touches files. */
const NO_PROJECT: Project = { name: '', root: '' };

/** What a run answers: the person's words, the images they sent, and what their voice said. */
interface RunMessage {
  readonly text: string;
  readonly images: readonly ImageRef[];
  /** Transcripts of voice and video notes, quoted above the answer. */
  readonly spoken: readonly string[];
}

/** What a person is told when a message's file arrives and the worker takes no files. */
const FILES_OFF_NOTICE = 'I cannot take files here. Please send your message as text.';

/** Where one attempt of a run happens: the item, its project, its view and its signal. */
interface RunPlace {
  readonly item: InboxRow;
  readonly message: RunMessage;
  readonly project: string;
  readonly root: string;
  readonly view: RunView;
  readonly signal: AbortSignal;
}

/** What a run came to, for the handler. */
type RunEnd =
  | {
      readonly kind: 'answer';
      readonly answer: string;
      readonly usage: AnswerUsage;
      readonly runId: number;
      /** Whether messages were steered into the run (they are answered by its answer). */
      readonly steered: boolean;
    }
  | { readonly kind: 'outcome'; readonly outcome: Outcome };

/**
 * One message → one agent run → one reply. The run is journalled step by step (a kill loses
 * and repeats no step); its answer is stored before its first part is sent, so after a crash
 * the stored answer is sent and nothing is asked or run again. A run that calls tools shows its
 * progress in one status message. With no tools (`AGENT_TOOLS=off`) a run is a plain answer: one
 * model call, drafted as it grows, journalled like any run.
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
    if (this.deps.testTriggers && item.text !== null) await fireTestTrigger(item.text);
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
      const project = (await this.deps.projectFor?.(item)) ?? NO_PROJECT;
      const message = await this.message(item, project, signal);
      if ('kind' in message) return message;
      const end = await this.run(item, message, project, signal);
      if (end.kind === 'outcome') return end.outcome;
      // the answer is stored (history, resend after a crash) as it is sent: without secrets
      reply = redact(quoted(message.spoken) + end.answer);
      store.storeAnswer(item, reply, end.usage, this.deps.now());
      if (end.steered) this.deps.sessions.answerSteered(end.runId, reply);
    }
    return deliverAnswer(this.deps, item, reply, signal);
  }

  /**
   * The run's message: the text, or for a message with files, what arrived and where it was saved
   * (made ready first, each step stored); an outcome when its files cannot be taken.
   */
  private async message(
    item: InboxRow,
    project: Project,
    signal: AbortSignal,
  ): Promise<RunMessage | Outcome> {
    if (item.media === null) return { text: item.text!, images: [], spoken: [] };
    const { deps } = this;
    const prepared =
      deps.files === undefined
        ? ({ kind: 'refused', notice: FILES_OFF_NOTICE, reason: 'files are not taken' } as const)
        : await prepareMessage(deps.files, item, project.root === '' ? null : project, signal);
    if (prepared.kind === 'message')
      return { text: prepared.text, images: prepared.images, spoken: prepared.spoken };
    await sendNotice(deps.telegram, deps.log, item.chatId!, item.messageId, prepared.notice, signal);
    return { kind: 'skipped', reason: prepared.reason };
  }

  /** Runs (or resumes) the item's run and maps its result. */
  private async run(
    item: InboxRow,
    message: RunMessage,
    where: Project,
    signal: AbortSignal,
  ): Promise<RunEnd> {
    const chatId = item.chatId!;
    const view = new RunView(item, this.deps, signal);
    try {
      const { name: project, root } = where;
      const place: RunPlace = { item, message, project, root, view, signal };
      const result = await withTyping(this.deps.telegram, chatId, signal, () => this.runOnce(place));
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

  /** One attempt of the run: its session, the project's instructions, and the loop. */
  private async runOnce(place: RunPlace): Promise<AgentResult> {
    const { item, message, project, root, view, signal } = place;
    const { deps } = this;
    const { sessions } = deps;
    const chatId = item.chatId!;
    const model = deps.modelFor(chatId);
    // read at the start of each run, so an edited AGENTS.md counts from the next message on
    const instructions = root === '' ? null : await sessions.instructions(root);
    const systemPrompt = systemPromptWith(deps.systemPrompt, instructions);
    return runAgent(
      {
        run: {
          inboxId: item.id,
          chatId,
          project,
          message: message.text,
          ...(message.images.length > 0 ? { images: message.images } : {}),
          sessionFrom: sessions.sessionFrom(item),
          // a forum topic is a conversation of its own
          ...(item.threadId !== null ? { sessionThread: item.threadId } : {}),
        },
        systemPrompt,
        contextWindow: contextWindow(model, sessions.contextTokens),
        ...(sessions.promptCacheKey ? { cacheKey: promptCacheKey(chatId, project) } : {}),
        limits: { ...deps.limits, cachedWeight: sessions.cachedWeight(model) },
        approval: deps.approval,
        model,
      },
      {
        // images of the session are read from the project for each request, for a model that sees
        model: withProjectImages(deps.model, root, deps.acceptsImages, model),
        // a secret a tool prints or the model writes reaches neither the model, the journal nor the chat
        tools: redactingTools(this.checkpointed(item, root)),
        journal: redactingJournal(deps.journal),
        toolContext: (runId) => ({
          root,
          runDir: path.join(deps.runsDir, String(runId)),
          sendFile: async (file, caption) => {
            const document = redactedDocument(file.bytes, caption);
            await sendFileToChat(
              deps.telegram,
              chatId,
              { bytes: document.bytes, name: file.name },
              document.caption,
              item.messageId,
              signal,
            );
          },
          ...(deps.release !== undefined ? { release: () => deps.release!(item, project, signal) } : {}),
        }),
        ...(deps.askApproval !== undefined ? { askApproval: deps.askApproval(item, root) } : {}),
        ...(sessions.steer !== undefined ? { steer: sessions.steer } : {}),
        emit: (event) => {
          view.on(event);
          this.tell(item, event, signal);
        },
        now: deps.now,
        signal,
      },
    );
  }

  /**
   * What the person is told beside the status message, without holding the run up: that a message
   * was given to the run, or that the session's oldest part was dropped when its summary failed.
   */
  private tell(item: InboxRow, event: AgentEvent, signal: AbortSignal): void {
    const { deps } = this;
    const chatId = item.chatId!;
    const send = (replyTo: number | null, text: string): void => {
      sendNotice(deps.telegram, deps.log, chatId, replyTo, text, signal).catch((err: unknown) =>
        deps.log.warn('could not send a notice', { id: item.id, error: String(err) }),
      );
    };
    if (event.type === 'steered') {
      for (const inboxId of event.inboxIds) send(deps.store.messageIdOf(inboxId), STEERED_NOTICE);
    } else if (event.type === 'compacted' && event.kind === 'dropped') {
      send(
        item.messageId,
        `The conversation grew past the model's window and its summary failed (${event.reason ?? 'no reason given'}), so its oldest part was left out. /status shows the session.`,
      );
    }
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

  /**
   * The model that made the run's last response, as the API named it; the one asked for when it
   * named none (vLLM answers `model: ""`), so usage and prices find it.
   */
  private lastModel(item: InboxRow, result: AgentResult): string {
    const named = this.deps
      .runSteps(result.runId)
      .filter((s) => s.kind === 'model')
      .at(-1)?.model;
    return named !== undefined && named !== '' ? named : this.deps.modelFor(item.chatId!);
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
          // the journal keeps the model's text whole; the person gets it without its reasoning
          answer: shownText(
            result.answer ??
              `The run ended (${result.status}) without an answer; its steps are in \`autonous runs show ${result.runId}\`.`,
            this.deps.showThinking,
          ),
          usage: { model: this.lastModel(item, result), ...result.usage },
          runId: result.runId,
          steered: this.deps.runSteps(result.runId).some((s) => s.kind === 'user'),
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

/** Transcripts quoted above an answer, so the person sees what was heard; empty without any. */
function quoted(spoken: readonly string[]): string {
  if (spoken.length === 0) return '';
  const quote = spoken
    .join('\n\n')
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
  return `${quote}\n\n`;
}
