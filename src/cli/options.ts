import { InvalidArgumentError } from 'commander';
import { CHAT_ID_EXAMPLE, parseChatId } from '../shared/contracts';
import { parseDuration } from './duration';

// Option parsers for commander: a bad value throws InvalidArgumentError, which commander reports
// with the option's name and the CLI exits 2 (usage).

/** A whole number in [min, max]. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`It must be a whole number from ${min} to ${max}.`);
    }
    return Number(value);
  };
}

/** A Telegram chat id (negative for groups). */
export function chatId(value: string): number {
  const id = parseChatId(value);
  if (id === null) throw new InvalidArgumentError(`It must be a numeric chat id, like ${CHAT_ID_EXAMPLE}.`);
  return id;
}

/** A duration like `30m`, `1h`, `7d`, kept with its text for messages: `{ text, ms }`. */
export function duration(value: string): { readonly text: string; readonly ms: number } {
  const ms = parseDuration(value);
  if (ms === null) throw new InvalidArgumentError('It must be a duration like 30s, 15m, 1h, 7d or 2w.');
  return { text: value.trim(), ms };
}
