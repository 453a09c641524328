import type { Logger } from '../shared/log';
import { describeError } from '../shared/log';
import { TELEGRAM_TEXT_LIMIT } from './split';
import type { TelegramClient } from './telegram/client';
import { isTelegramFailure } from './telegram/failures';

/** The Bot API method drafts use. */
export type DraftTelegram = Pick<TelegramClient, 'sendMessageDraft'>;

/**
 * Whether drafts may be sent, shared by every answer of the worker: Telegram refusing the
 * method turns them off for the worker's lifetime; a flood wait (429) pauses them.
 */
export class DraftSupport {
  private unsupported = false;
  private pausedUntil = 0;

  /** Whether a draft may go now. */
  allows(now: number): boolean {
    return !this.unsupported && now >= this.pausedUntil;
  }

  /** Learns from a failed draft; returns whether it was a reason to stop for good. */
  learn(err: unknown, now: number): 'unsupported' | 'paused' | 'other' {
    if (isTelegramFailure(err, 'drafts_unsupported')) {
      this.unsupported = true;
      return 'unsupported';
    }
    if (isTelegramFailure(err, 'flood_wait')) {
      this.pausedUntil = now + (err.retryAfterMs ?? 1000);
      return 'paused';
    }
    return 'other';
  }
}

/**
 * What to draft now: the text, or null to wait. The first draft waits one interval from the
 * start of the answer too: an answer that comes within it needs no draft (it would cost a
 * request per message for nothing). Pure: `now` comes in.
 */
export function nextDraft(
  text: string,
  last: { readonly text: string; readonly at: number } | null,
  startedAt: number,
  now: number,
  intervalMs: number,
): string | null {
  const draft = text.length > TELEGRAM_TEXT_LIMIT ? `${text.slice(0, TELEGRAM_TEXT_LIMIT - 1)}…` : text;
  if (draft.trim() === '') return null;
  if (now - (last?.at ?? startedAt) < intervalMs) return null;
  if (last && draft === last.text) return null;
  return draft;
}

export interface DraftStreamDeps {
  readonly telegram: DraftTelegram;
  readonly support: DraftSupport;
  readonly log: Logger;
  readonly now: () => number;
  readonly intervalMs: number;
  readonly signal: AbortSignal;
}

/**
 * Shows an answer growing in a private chat with `sendMessageDraft` (an ephemeral draft that
 * leaves no message behind): at most one draft per interval, never the same text twice, never
 * two requests at once. A failure never reaches the answer: the final message is sent as usual.
 */
export class DraftStream {
  private last: { text: string; at: number } | null = null;
  private readonly startedAt: number;
  private sending = false;
  private latest = '';
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  // One draft id per answer: Telegram animates changes of the same draft
  private readonly draftId = 1 + Math.floor(Math.random() * 2 ** 31);

  constructor(
    private readonly chatId: number,
    private readonly deps: DraftStreamDeps,
  ) {
    this.startedAt = deps.now();
  }

  /** The whole text so far (the model port's `onText`). */
  push(text: string): void {
    this.latest = text;
    this.pump();
  }

  /** No more drafts for this answer. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private pump(): void {
    if (this.closed || this.sending || this.deps.signal.aborted) return;
    const now = this.deps.now();
    if (!this.deps.support.allows(now)) return;
    const draft = nextDraft(this.latest, this.last, this.startedAt, now, this.deps.intervalMs);
    if (draft === null) {
      // a newer text waits for the interval to pass, so the last words are drafted too
      if (this.latest !== this.last?.text && this.timer === undefined) {
        this.timer = setTimeout(
          () => {
            this.timer = undefined;
            this.pump();
          },
          Math.max(0, (this.last?.at ?? this.startedAt) + this.deps.intervalMs - now),
        );
      }
      return;
    }
    this.sending = true;
    this.last = { text: draft, at: now };
    this.deps.telegram
      .sendMessageDraft(this.chatId, this.draftId, draft, {}, this.deps.signal)
      .catch((err: unknown) => {
        const learned = this.deps.support.learn(err, this.deps.now());
        if (learned === 'unsupported') {
          this.deps.log.warn(
            'Telegram refused drafts: answers are no longer streamed until the worker restarts',
            {
              error: describeError(err),
            },
          );
        } else if (learned === 'other' && !this.deps.signal.aborted) {
          this.deps.log.debug('a draft failed', { error: describeError(err) });
        }
      })
      .finally(() => {
        this.sending = false;
        this.pump();
      });
  }
}
