// The short texts the bot sends instead of a model answer. Plain text, no formatting.

import { cut } from '../shared/cut';
import { redact } from '../shared/redact';

const KIND_NAMES: Record<string, string> = {
  photo: 'photos',
  sticker: 'stickers',
  voice: 'voice messages',
  video: 'videos',
  video_note: 'video messages',
  audio: 'audio',
  document: 'files',
  animation: 'GIFs',
  location: 'locations',
  venue: 'venues',
  contact: 'contacts',
  poll: 'polls',
  dice: 'dice',
  game: 'games',
  story: 'stories',
};

/** The reply to a message the bot cannot read (a photo, a sticker, ...). */
export function unsupportedNotice(kind: string): string {
  if (kind === 'edited_message') {
    return 'I only read new messages, not edits. Please send your corrected text as a new message.';
  }
  const what = KIND_NAMES[kind];
  return what
    ? `I can read text, files, photos and voice messages, but not ${what}. Please send your question as text.`
    : 'I can read text, files, photos and voice messages, not this kind of message. Please send your question as text.';
}

/** The reply to an empty message. */
export const EMPTY_NOTICE = 'Your message was empty. Please send your question as text.';

/** The one notice a day for a chat that is not on the allowlist. */
export function privateNotice(chatId: number, allowlistEmpty: boolean): string {
  const allow = `Your chat id is ${chatId}: the owner can allow this chat by adding it to TG_ALLOWED_CHAT_IDS.`;
  return allowlistEmpty
    ? `This bot is private and is not answering anyone yet. ${allow}`
    : `This bot is private. ${allow}`;
}

// How much of the model server's words a notice quotes: enough for the cause, `queue dead` has the whole
const CAUSE_CHARS = 200;

/**
 * The notice for a message that could not be answered (a dead letter), naming the cause in the
 * model server's own words when it gave any (redacted, on one line, cut).
 */
export function deadNotice(inboxId: number, modelSaid?: string): string {
  const words = modelSaid === undefined ? '' : redact(modelSaid).replace(/\s+/g, ' ').trim();
  const cause = words === '' ? '' : `: the model's server said "${cut(words, CAUSE_CHARS)}"`;
  return `Sorry, I could not answer this message${cause} (reference #${inboxId}). The operator has been left a note and can retry it.`;
}

/** The notice in place of an answer once a chat used its tokens for the day. */
export function dailyLimitNotice(limit: number): string {
  return `This chat has used its ${limit} tokens for today (UTC); I answer again tomorrow. /usage shows the figures.`;
}
