// What an incoming update is, decided from its shape alone. Pure; ingress stores the result.

import type { NewInboxItem } from '../queue/enqueue';

/** The fields of a Telegram message this worker reads. */
export interface TgMessage {
  readonly message_id: number;
  readonly date?: number;
  readonly chat: { readonly id: number; readonly type?: string };
  readonly text?: string;
  readonly [field: string]: unknown;
}

/** A Telegram update as received; unknown kinds are kept as they come. */
export interface TgUpdate {
  readonly update_id: number;
  readonly message?: TgMessage;
  readonly edited_message?: TgMessage;
  readonly channel_post?: TgMessage;
  readonly edited_channel_post?: TgMessage;
  readonly [field: string]: unknown;
}

/** The update reduced to what the inbox keeps, before ingress decides its status. */
export interface ClassifiedUpdate extends Omit<NewInboxItem, 'status' | 'error'> {
  /** Set when the update is never worth processing (no chat to answer, a channel). */
  readonly skipReason: string | null;
}

// Message contents we can name in the reply; the first one present wins.
const MEDIA = [
  'photo',
  'sticker',
  'voice',
  'video',
  'video_note',
  'audio',
  'document',
  'animation',
  'location',
  'venue',
  'contact',
  'poll',
  'dice',
  'game',
  'story',
] as const;

/** The kind of a message: `text`, or what it carries instead (`photo`, `sticker`, ...). */
export function messageKind(message: TgMessage): string {
  if (typeof message.text === 'string') return 'text';
  for (const kind of MEDIA) if (message[kind] !== undefined) return kind;
  return 'service';
}

/** Classifies an update; `keepText` is false for chats whose text must not be stored. */
export function classifyUpdate(update: TgUpdate, keepText: (chatId: number) => boolean): ClassifiedUpdate {
  const base = { updateId: update.update_id };
  const fromMessage = (message: TgMessage, kind: string, skipReason: string | null): ClassifiedUpdate => ({
    ...base,
    chatId: message.chat.id,
    messageId: message.message_id,
    kind,
    text: kind === 'text' && keepText(message.chat.id) ? (message.text ?? null) : null,
    sentAt: typeof message.date === 'number' ? message.date * 1000 : null,
    skipReason,
  });
  if (update.message?.chat) return fromMessage(update.message, messageKind(update.message), null);
  if (update.edited_message?.chat) return fromMessage(update.edited_message, 'edited_message', null);
  for (const channel of ['channel_post', 'edited_channel_post'] as const) {
    const post = update[channel];
    if (post?.chat) return fromMessage(post, channel, 'channel posts are not answered');
  }
  const kind = Object.keys(update).find((key) => key !== 'update_id') ?? 'empty';
  return {
    ...base,
    chatId: null,
    messageId: null,
    kind,
    text: null,
    sentAt: null,
    skipReason: `unsupported update type: ${kind}`,
  };
}
