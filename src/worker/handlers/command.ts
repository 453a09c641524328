import type { Logger } from '../../shared/log';
import { abortText } from '../../agent/abort-reasons';
import { cachedShare, shareText } from '../../shared/cached-share';
import { costUsd, priceOf, type Price } from '../../shared/prices';
import { seconds } from '../../shared/seconds';
import { startOfUtcDay, startOfUtcMonth } from '../../shared/day';
import { KV } from '../../queue/kv';
import type { InboxRow } from '../../queue/row';
import type { Store } from '../../queue/store';
import type { UsageTotal } from '../../queue/usage';
import { helpText, parseCommand } from '../commands';
import { sendNotice, type SendTelegram } from '../replier';
import { settlingAborts, type Handler, type Outcome } from './handler';
import type { InlineKeyboard } from '../telegram/keyboards';
import { chatModel } from '../chat-model';

/** What a command may ask of the answers being worked on. */
export interface AnswerLanes {
  /** Aborts the answer in flight of the chat's forum topic `threadId` (null: none); whether there was one. */
  cancel(chatId: number, threadId: number | null): boolean;
  /** The items in flight now. */
  running(): InboxRow[];
}

/** A reply of a command answered elsewhere, with what to do once it is sent (attach a file, edit a card). */
export interface CommandReply {
  readonly text: string;
  readonly after?: (signal: AbortSignal) => Promise<void>;
  /** Buttons under the reply (a card), and what to do with the sent message's id. */
  readonly card?: {
    readonly keyboard: InlineKeyboard;
    readonly sent: (messageId: number) => void;
  };
}

/** The chat's session as `/compact` and `/status` see it (src/worker/session-commands.ts). */
export interface SessionCommandsPort {
  /** `/compact [what to keep]`: compacts the session the chat's next run would join; the reply. */
  compact(item: InboxRow, keep: string, signal: AbortSignal): Promise<string>;
  /** The session's lines of `/status`: its size against the window, compaction, cache, instructions. */
  statusLines(item: InboxRow): Promise<string[]>;
}

/** Commands answered by another module (approvals, projects, undo); null: not one of theirs. */
export interface MoreCommands {
  run(item: InboxRow, name: string, args: string, signal: AbortSignal): Promise<CommandReply | null>;
}

/** Several modules' commands, asked in order. */
export function moreCommands(...modules: readonly MoreCommands[]): MoreCommands {
  return {
    async run(item, name, args, signal) {
      for (const module of modules) {
        const reply = await module.run(item, name, args, signal);
        if (reply !== null) return reply;
      }
      return null;
    },
  };
}

export interface CommandDeps {
  readonly store: Store;
  readonly telegram: SendTelegram;
  readonly lanes: AnswerLanes;
  readonly log: Logger;
  readonly now: () => number;
  readonly defaultModel: string;
  readonly models: readonly string[];
  readonly prices: Readonly<Record<string, Price>>;
  readonly sessions: SessionCommandsPort;
  /** Called with the inbox ids of waiting answers `/stop` skipped (their runs end, their cards close). */
  readonly onStopped?: (inboxIds: readonly number[]) => void;
  /** The bot's @username once known (getMe), to tell `/cmd@other_bot` apart. */
  readonly botUsername: () => string | undefined;
  /** Asked first: `/approve`, `/deny`, `/project`, `/diff`, `/undo` (src/worker/approvals). */
  readonly more?: MoreCommands;
  /** How the agent's commands run (the sandbox's note), or null when runs are off (AGENT_TOOLS=off). */
  readonly sandboxNote?: string | null;
  /** More lines of `/status` about the whole bot (self-release), or none. */
  readonly statusLines?: () => readonly string[];
}

/**
 * The commands: the control lane's answered at once, never behind the chat's answer in progress;
 * the answer lane's (`/undo`, `/compact`) in their turn behind it. A reply failing to send is
 * retried like any send (the command's effect is idempotent).
 */
export class CommandHandler implements Handler {
  constructor(private readonly deps: CommandDeps) {}

  /** Runs one command and replies to it; stopped by a stopping worker, it is released. */
  handle(item: InboxRow, signal: AbortSignal): Promise<Outcome> {
    return settlingAborts(signal, () => this.answer(item, signal));
  }

  private async answer(item: InboxRow, signal: AbortSignal): Promise<Outcome> {
    const parsed = parseCommand(item.text ?? '', this.deps.botUsername());
    if (!parsed) return { kind: 'skipped', reason: 'not a command' };
    if (parsed.kind === 'other-bot') return { kind: 'skipped', reason: 'a command for another bot' };
    const more = await this.deps.more?.run(item, parsed.name, parsed.args, signal);
    const reply = more?.text ?? (await this.run(item, parsed.name, parsed.args, signal));
    if (more?.card) {
      const messageId = await this.deps.telegram.sendMessage(
        item.chatId!,
        reply,
        { html: false, replyTo: item.messageId, keyboard: more.card.keyboard },
        signal,
      );
      more.card.sent(messageId);
    } else {
      await sendNotice(this.deps.telegram, this.deps.log, item.chatId!, item.messageId, reply, signal);
    }
    await more?.after?.(signal);
    this.deps.log.info('command answered', { id: item.id, chatId: item.chatId, command: parsed.name });
    return { kind: 'done' };
  }

  private async run(item: InboxRow, name: string, args: string, signal: AbortSignal): Promise<string> {
    const chatId = item.chatId!;
    switch (name) {
      case 'start':
        return [
          'autonous: a self-hosted assistant. Send me a message and I answer it.',
          `This chat's id is ${chatId}; it is allowed to use this bot.`,
          '/help lists the commands.',
        ].join('\n');
      case 'help':
        return helpText();
      case 'new':
        this.deps.store.setKv(KV.conversationStart(chatId, item.threadId), String(item.id), this.deps.now());
        return 'Started a new conversation: I no longer see the messages before this one (they stay stored).';
      case 'stop':
        return this.stop(item);
      case 'status':
        return this.status(item);
      case 'usage':
        return this.usage(chatId);
      case 'model':
        return this.model(chatId, args);
      case 'compact':
        return this.deps.sessions.compact(item, args, signal);
      default:
        return `I do not know /${name}. /help lists the commands.`;
    }
  }

  private stop(item: InboxRow): string {
    const chatId = item.chatId!;
    // in a forum, /stop stops its own topic's work only
    const running = this.deps.lanes.cancel(chatId, item.threadId);
    const stopped = this.deps.store.skipWaitingAnswers(
      chatId,
      item.threadId,
      item.updateId,
      abortText('stopped-by-user'),
      this.deps.now(),
    );
    if (stopped.length > 0) this.deps.onStopped?.(stopped);
    const waiting = stopped.length;
    this.deps.log.info('stopped by the user', { chatId, running, waiting });
    if (!running && waiting === 0) return 'Nothing to stop.';
    const parts = [
      running ? 'the answer in progress' : '',
      waiting > 0 ? plural(waiting, 'waiting message') : '',
    ];
    return `Stopped ${parts.filter((p) => p !== '').join(' and ')}.`;
  }

  private async status(item: InboxRow): Promise<string> {
    const { store, now } = this.deps;
    const chatId = item.chatId!;
    // the session's lines first (they wait for the project's files), so the queue's are read at once
    const session = await this.deps.sessions.statusLines(item);
    const lane = store.chatLaneState(chatId);
    const running = this.deps.lanes.running().find((i) => i.chatId === chatId && i.lane === 'answer');
    const run = running ? store.runOfItem(running.id) : undefined;
    return [
      `Waiting: ${plural(lane.waiting, 'message')}`,
      running
        ? `Running: an answer for ${seconds(now() - (running.startedAt ?? now()))}`
        : 'Running: nothing',
      `Model: ${chatModel(store, chatId, this.deps.defaultModel, this.deps.models)}`,
      ...session,
      ...(run
        ? [
            // a run with no tools (AGENT_TOOLS=off) works in no project
            `Run ${run.id}: step ${run.steps}, ${seconds(now() - run.startedAt - run.parkedMs)}${run.project === '' ? '' : ` (project ${run.project})`}`,
          ]
        : []),
      ...(this.deps.sandboxNote ? [`Sandbox: ${this.deps.sandboxNote}`] : []),
      ...(this.deps.statusLines?.() ?? []),
      lane.lastError
        ? `Last error: ${lane.lastError.message} (${seconds(now() - lane.lastError.at)} ago)`
        : 'Last error: none',
    ].join('\n');
  }

  private usage(chatId: number): string {
    const now = this.deps.now();
    const line = (label: string, rows: UsageTotal[]): string => {
      const prompt = rows.reduce((s, r) => s + r.promptTokens, 0);
      const completion = rows.reduce((s, r) => s + r.completionTokens, 0);
      const cached = rows.reduce((s, r) => s + r.cachedTokens, 0);
      const costs = rows.map((r) => costUsd(priceOf(this.deps.prices, r.model), r));
      const cost = costs.some((c) => c === null)
        ? ''
        : `, $${costs.reduce<number>((s, c) => s + (c ?? 0), 0).toFixed(4)}`;
      const share = shareText(cachedShare({ promptTokens: prompt, cachedTokens: cached }));
      return `${label}: ${prompt + completion} tokens (${prompt} in, ${completion} out), cached ${share}${cost}`;
    };
    return [
      line('Today', this.deps.store.usageSince(startOfUtcDay(now), chatId)),
      line('This month', this.deps.store.usageSince(startOfUtcMonth(now), chatId)),
      '(days and months in UTC)',
    ].join('\n');
  }

  private model(chatId: number, args: string): string {
    const { store, models } = this.deps;
    const current = chatModel(store, chatId, this.deps.defaultModel, models);
    if (args === '') {
      return `Model: ${current}.${models.length > 1 ? ` Available: ${models.join(', ')}. Set one with /model NAME.` : ''}`;
    }
    if (!models.includes(args)) return `${args} is not offered here; choose one of: ${models.join(', ')}.`;
    store.setKv(KV.chatModel(chatId), args, this.deps.now());
    return `Model set to ${args}.`;
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
