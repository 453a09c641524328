// "typing…" while an answer is being made: Telegram shows it for 5 s, so it is renewed a little
// before it fades; an answer faster than the delay needs none.

import type { TelegramClient } from './telegram/client';

const TYPING_EVERY_MS = 4500;
const TYPING_DELAY_MS = 500;

/** Runs `work`, showing "typing…" in the chat from half a second on until it settles. */
export async function withTyping<T>(
  telegram: Pick<TelegramClient, 'sendTyping'>,
  chatId: number,
  signal: AbortSignal,
  work: () => Promise<T>,
): Promise<T> {
  const typing = (): void => {
    if (!signal.aborted) void telegram.sendTyping(chatId, signal);
  };
  let timer = setTimeout(() => {
    typing();
    timer = setInterval(typing, TYPING_EVERY_MS);
  }, TYPING_DELAY_MS);
  try {
    return await work();
  } finally {
    clearTimeout(timer);
    clearInterval(timer);
  }
}
