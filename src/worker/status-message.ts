// A run's one status message: sent as a reply to the person's message at its first tool call,
// then edited in place as the run goes, paced by `paceStatus` (3 s per chat, never the same text,
// retry_after honoured). It never holds the run up: `show` returns at once, and a failure only
// costs the status, never the answer.

import type { Logger } from '../shared/log';
import { describeError } from '../shared/log';
import { paceStatus, STATUS_INTERVAL_MS, type StatusPace } from './status-pace';
import type { TelegramClient } from './telegram/client';
import { isTelegramFailure } from './telegram/failures';

/** The Bot API methods a status message uses. */
export type StatusTelegram = Pick<TelegramClient, 'sendMessage' | 'editMessageText'>;

export interface StatusMessageDeps {
  readonly telegram: StatusTelegram;
  readonly pace: StatusPace;
  readonly log: Logger;
  readonly now: () => number;
  readonly intervalMs?: number;
  /** The message already sent for this run (a resumed run edits it), or null. */
  readonly messageId: number | null;
  /** Called once the message exists, to journal its id. */
  readonly onMessageId: (messageId: number) => void;
}

// A final text waiting on a retry_after longer than this is dropped: the run is over anyway
const MAX_FINAL_WAIT_MS = 60_000;

/** The status message of one run. */
export class StatusMessage {
  private wanted = '';
  private shown: string | null = null;
  private messageId: number | null;
  private sending = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private broken = false;
  private settledWaiters: (() => void)[] = [];
  private readonly intervalMs: number;

  constructor(
    private readonly chatId: number,
    private readonly replyTo: number | null,
    private readonly deps: StatusMessageDeps,
  ) {
    this.messageId = deps.messageId;
    this.intervalMs = deps.intervalMs ?? STATUS_INTERVAL_MS;
  }

  /** Whether the message was sent (now or by an earlier attempt of the run). */
  get exists(): boolean {
    return this.messageId !== null;
  }

  /** The text the message should show; sent when the pace allows. */
  show(text: string): void {
    if (this.closed) return;
    this.wanted = text;
    this.pump();
  }

  /**
   * The last text; resolves once it is shown, or given up (a long retry_after, a failure). The
   * caller need not wait for it.
   */
  close(text: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.wanted = text;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.settledWaiters.push(resolve));
    this.pump();
    return done;
  }

  /** No more updates (the worker is stopping: the resumed run edits the message later). */
  abandon(): void {
    this.closed = true;
    this.broken = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.settleIfIdle();
  }

  private pump(): void {
    if (this.sending || this.broken) return this.settleIfIdle();
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.deps.now();
    const times = this.deps.pace.of(this.chatId);
    const decision = paceStatus(this.wanted, { shown: this.shown, ...times }, now, this.intervalMs);
    if (decision.kind === 'idle') return this.settleIfIdle();
    if (decision.kind === 'wait') {
      if (this.closed && decision.ms > MAX_FINAL_WAIT_MS) {
        this.deps.log.warn('the run status was not updated: Telegram asked to wait too long', {
          chatId: this.chatId,
          waitMs: decision.ms,
        });
        this.broken = true;
        return this.settleIfIdle();
      }
      this.timer = setTimeout(() => this.pump(), decision.ms);
      // a pending edit never keeps a stopping worker alive
      this.timer.unref();
      return;
    }
    const text = this.wanted;
    this.sending = true;
    this.deps.pace.sent(this.chatId, now);
    void this.send(text)
      .then(() => (this.shown = text))
      .catch((err: unknown) => this.learn(err))
      .finally(() => {
        this.sending = false;
        this.pump();
      });
  }

  private async send(text: string): Promise<void> {
    if (this.messageId === null) {
      const id = await this.deps.telegram.sendMessage(this.chatId, text, {
        html: false,
        replyTo: this.replyTo,
      });
      this.messageId = id;
      try {
        this.deps.onMessageId(id);
      } catch (err) {
        this.deps.log.warn('could not journal the run status message', { error: describeError(err) });
      }
      return;
    }
    await this.deps.telegram.editMessageText(this.chatId, this.messageId, text);
  }

  private learn(err: unknown): void {
    if (isTelegramFailure(err, 'flood_wait')) {
      this.deps.pace.block(this.chatId, this.deps.now() + (err.retryAfterMs ?? 1000));
      return;
    }
    // a deleted message, a chat gone: the status is given up, the run goes on
    this.broken = true;
    this.deps.log.warn('the run status message failed; the run goes on without it', {
      chatId: this.chatId,
      error: describeError(err),
    });
  }

  private settleIfIdle(): void {
    if (!this.closed || this.sending || (this.timer !== undefined && !this.broken)) return;
    if (!this.broken && this.shown !== this.wanted) return;
    clearTimeout(this.timer);
    for (const resolve of this.settledWaiters.splice(0)) resolve();
  }
}
