import type { Logger } from '../shared/log';
import type { ReplyPart } from './format';
import { sleep } from './ingress';
import type { TelegramClient } from './telegram/client';
import { isTelegramFailure } from './telegram/failures';

/** The one Bot API method sending needs. */
export type SendTelegram = Pick<TelegramClient, 'sendMessage'>;

// A flood wait longer than this is not waited out in-process: the item is rescheduled instead,
// so the worker's other chats and its shutdown are not held up.
const MAX_INLINE_WAIT_MS = 30_000;
const MAX_INLINE_RETRIES = 3;

/**
 * Sends the parts of a reply from `from` on, each as a reply to the user's message, calling
 * `onSent(n)` after Telegram accepted part n-1, so a crash resends only what was not accepted.
 * A part whose HTML Telegram refuses is resent as plain text.
 */
export async function sendParts(
  telegram: SendTelegram,
  log: Logger,
  chatId: number,
  replyTo: number | null,
  parts: readonly ReplyPart[],
  from: number,
  onSent: (count: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  for (let i = from; i < parts.length; i++) {
    const part = parts[i]!;
    await withFloodWait(log, signal, async () => {
      if (part.html !== null) {
        try {
          await telegram.sendMessage(chatId, part.html, { html: true, replyTo }, signal);
          return;
        } catch (err) {
          if (!isTelegramFailure(err, 'parse_entities')) throw err;
          log.warn('Telegram refused the formatting; sending plain text', { chatId, part: i });
        }
      }
      await telegram.sendMessage(chatId, part.plain, { html: false, replyTo }, signal);
    });
    onSent(i + 1);
  }
}

/** Sends a short plain-text notice as a reply. */
export async function sendNotice(
  telegram: SendTelegram,
  log: Logger,
  chatId: number,
  replyTo: number | null,
  text: string,
  signal?: AbortSignal,
): Promise<void> {
  await withFloodWait(log, signal, () =>
    telegram.sendMessage(chatId, text, { html: false, replyTo }, signal),
  );
}

/** Runs a send, waiting out Telegram's `retry_after` (429) a few times when it is short. */
async function withFloodWait<T>(
  log: Logger,
  signal: AbortSignal | undefined,
  send: () => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const wait = isTelegramFailure(err, 'flood_wait') ? err.retryAfterMs : undefined;
      if (wait === undefined || wait > MAX_INLINE_WAIT_MS || attempt >= MAX_INLINE_RETRIES || signal?.aborted)
        throw err;
      log.warn('Telegram asked to slow down (429); waiting retry_after', { waitMs: wait });
      await sleep(wait, signal);
    }
  }
}
