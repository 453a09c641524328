// Inline keyboards: the buttons under a message, checked against Telegram's limits before they
// are sent, so a mistake is named where it is made rather than as a refusal later.

import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'node-telegram-bot-api';
import { BUTTON_DATA_INVALID, TelegramError } from './failures';

/** One inline button: it either sends `callbackData` back (a `callback_query`) or opens `url`. */
export type InlineButton =
  { readonly text: string; readonly callbackData: string } | { readonly text: string; readonly url: string };

/** Rows of inline buttons under a message (`reply_markup.inline_keyboard`). */
export type InlineKeyboard = readonly (readonly InlineButton[])[];

/** Telegram's limit for a button's callback_data, in UTF-8 bytes. */
export const CALLBACK_DATA_LIMIT_BYTES = 64;

/**
 * The Bot API form of a keyboard; empty rows are dropped. Throws `button_data_invalid`
 * (permanent) for callback_data that Telegram would refuse.
 */
export function inlineMarkup(keyboard: InlineKeyboard): InlineKeyboardMarkup {
  const rows = keyboard.map((row) =>
    row.map((button): InlineKeyboardButton => {
      if ('url' in button) return { text: button.text, url: button.url };
      const bytes = Buffer.byteLength(button.callbackData, 'utf8');
      if (bytes === 0 || bytes > CALLBACK_DATA_LIMIT_BYTES) {
        throw new TelegramError(
          BUTTON_DATA_INVALID,
          'permanent',
          BUTTON_DATA_INVALID,
          `The button "${button.text}" carries ${bytes} bytes of callback_data; Telegram takes 1 to ${CALLBACK_DATA_LIMIT_BYTES}: put an id in it, not the payload.`,
        );
      }
      return { text: button.text, callback_data: button.callbackData };
    }),
  );
  return { inline_keyboard: rows.filter((row) => row.length > 0) };
}
