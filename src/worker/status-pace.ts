// The pace of a run's status message: at most one send or edit per chat per interval, never the
// same text twice, nothing while Telegram's retry_after runs. The decision is pure (`now` comes
// in); `StatusPace` holds the per-chat times the decision needs, shared by the worker's runs.

/** At most one status send or edit per chat this often, well inside Telegram's flood limits. */
export const STATUS_INTERVAL_MS = 3000;

/** What the last send of a chat's status left behind. */
export interface PaceState {
  /** The text the message shows now; null before it was sent. */
  readonly shown: string | null;
  /** When the chat's last status request went out; null: never. */
  readonly lastAt: number | null;
  /** A 429's retry_after: nothing before this (ms). */
  readonly blockedUntil: number;
}

/** Send now, wait `ms` and decide again, or nothing to do. */
export type PaceDecision =
  { readonly kind: 'send' } | { readonly kind: 'wait'; readonly ms: number } | { readonly kind: 'idle' };

/** Whether `wanted` may be shown now. Pure. */
export function paceStatus(wanted: string, state: PaceState, now: number, intervalMs: number): PaceDecision {
  if (wanted === state.shown || wanted.trim() === '') return { kind: 'idle' };
  const readyAt = Math.max(state.blockedUntil, state.lastAt === null ? 0 : state.lastAt + intervalMs);
  return now >= readyAt ? { kind: 'send' } : { kind: 'wait', ms: readyAt - now };
}

/** Per chat: when its last status request went out and until when Telegram asked to wait. */
export class StatusPace {
  private readonly chats = new Map<number, { lastAt: number | null; blockedUntil: number }>();

  /** The chat's times (never sent, not blocked, when unknown). */
  of(chatId: number): { readonly lastAt: number | null; readonly blockedUntil: number } {
    return this.chats.get(chatId) ?? { lastAt: null, blockedUntil: 0 };
  }

  /** A status request went out now. */
  sent(chatId: number, now: number): void {
    this.chats.set(chatId, { ...this.of(chatId), lastAt: now });
  }

  /** Telegram answered 429: nothing for this chat before `until`. */
  block(chatId: number, until: number): void {
    this.chats.set(chatId, { ...this.of(chatId), blockedUntil: until });
  }
}
