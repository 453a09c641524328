// What every answer handler does around making the answer: the daily token limit before it, and
// sending it after (formatted, split, each part recorded as Telegram accepts it).
import type { Logger } from '../shared/log';
import { startOfUtcDay } from '../shared/day';
import { redact } from '../shared/redact';
import type { InboxRow } from '../queue/row';
import type { Store } from '../queue/store';
import { formatReply } from './format';
import type { Outcome } from './handlers/handler';
import { dailyLimitNotice } from './notices';
import { sendNotice, sendParts, type SendTelegram } from './replier';

/** What delivering an answer needs. */
export interface DeliveryDeps {
  readonly store: Pick<Store, 'chatTokensSince' | 'markPartsSent'>;
  readonly telegram: SendTelegram;
  readonly log: Logger;
  readonly now: () => number;
  /** Tokens a chat may use per UTC day; 0 is no limit. */
  readonly dailyTokensPerChat: number;
}

/**
 * When the chat has used its tokens for the day: sends the notice in place of an answer and
 * returns the outcome (skipped with the reason); else null.
 */
export async function refuseOverDailyLimit(
  deps: DeliveryDeps,
  item: InboxRow,
  signal: AbortSignal,
): Promise<Outcome | null> {
  const limit = deps.dailyTokensPerChat;
  if (limit <= 0 || deps.store.chatTokensSince(item.chatId!, startOfUtcDay(deps.now())) < limit) return null;
  await sendNotice(deps.telegram, deps.log, item.chatId!, item.messageId, dailyLimitNotice(limit), signal);
  return { kind: 'skipped', reason: 'over the daily token limit (WORKER_DAILY_TOKENS_PER_CHAT)' };
}

/**
 * Sends a stored answer as replies to the person's message, from the first part Telegram has not
 * accepted yet (a resend after a crash sends only what is missing); done with the answer.
 */
export async function deliverAnswer(
  deps: DeliveryDeps,
  item: InboxRow,
  reply: string,
  signal: AbortSignal,
): Promise<Outcome> {
  if (item.reply !== null) {
    // stored by an earlier attempt: sent again from where Telegram stopped accepting, nothing asked
    deps.log.info('resending a stored reply (the model is not asked again)', {
      id: item.id,
      partsSent: item.replyPartsSent,
    });
  }
  // an answer stored before secrets were redacted, or by a handler that does not, goes out without them
  const parts = formatReply(redact(reply));
  await sendParts(
    deps.telegram,
    deps.log,
    item.chatId!,
    item.messageId,
    parts,
    item.replyPartsSent,
    (n) => deps.store.markPartsSent(item.id, n),
    signal,
  );
  deps.log.info('answered', {
    id: item.id,
    chatId: item.chatId,
    parts: parts.length,
    attempt: item.attempts,
  });
  return { kind: 'done', reply };
}
