// What an incoming update is, decided from its shape alone. Pure; ingress stores the result.

import type { NewInboxItem } from '../queue/enqueue';
import { laneOfCommand } from './commands';
import { isMediaKind, mediaOf } from './media';

/** The fields of a Telegram message this worker reads. */
export interface TgMessage {
  readonly message_id: number;
  readonly date?: number;
  readonly chat: { readonly id: number; readonly type?: string };
  readonly text?: string;
  readonly from?: { readonly id: number };
  readonly [field: string]: unknown;
}

/** A button press (`callback_query`), as the Bot API sends it. */
export interface TgCallbackQuery {
  readonly id: string;
  readonly from?: { readonly id: number };
  readonly message?: TgMessage;
  readonly data?: string;
}

/** A Telegram update as received; unknown kinds are kept as they come. */
export interface TgUpdate {
  readonly update_id: number;
  readonly message?: TgMessage;
  readonly edited_message?: TgMessage;
  readonly channel_post?: TgMessage;
  readonly edited_channel_post?: TgMessage;
  readonly callback_query?: TgCallbackQuery;
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

// What a service message carries (Message fields of the Bot API): a topic opened, edited, closed or
// reopened, a pin, members joining or leaving, a new title or photo, a migration, a video chat, ...
// Nobody wrote these to the bot, so they get no reply; a message with none of them and no content
// we know is one Telegram added since, and gets the notice that says what the bot reads.
const SERVICE = [
  'new_chat_members',
  'left_chat_member',
  'new_chat_title',
  'new_chat_photo',
  'delete_chat_photo',
  'group_chat_created',
  'supergroup_chat_created',
  'channel_chat_created',
  'message_auto_delete_timer_changed',
  'migrate_to_chat_id',
  'migrate_from_chat_id',
  'pinned_message',
  'forum_topic_created',
  'forum_topic_edited',
  'forum_topic_closed',
  'forum_topic_reopened',
  'general_forum_topic_hidden',
  'general_forum_topic_unhidden',
  'video_chat_scheduled',
  'video_chat_started',
  'video_chat_ended',
  'video_chat_participants_invited',
  'write_access_allowed',
  'users_shared',
  'chat_shared',
  'boost_added',
  'chat_background_set',
  'proximity_alert_triggered',
  'connected_website',
  'giveaway_created',
  'giveaway_completed',
  'chat_owner_left',
  'chat_owner_changed',
] as const;

// A bot command as Telegram marks it: a slash, a letter, then letters, digits or underscores, and
// the bot's @username in groups. (`/__crash` and friends are test triggers, not commands.)
const COMMAND = /^\/[A-Za-z][A-Za-z0-9_]{0,31}(?:@[A-Za-z0-9_]+)?(?:\s|$)/;

/** The lane of a command message, as the command registry sets it; an unknown command is `control`. */
export function commandLane(text: string): 'answer' | 'control' {
  const name = /^\/([A-Za-z][A-Za-z0-9_]{0,31})/.exec(text)?.[1]?.toLowerCase();
  return name === undefined ? 'control' : laneOfCommand(name);
}

/** Whether a message's text is a bot command (`/stop`, `/help@my_bot`, ...). */
export function isCommand(text: string): boolean {
  return COMMAND.test(text);
}

/**
 * The kind of a message: `command`, `text`, or what it carries instead (`photo`, `sticker`, ...).
 */
export function messageKind(message: TgMessage): string {
  if (typeof message.text === 'string') return isCommand(message.text) ? 'command' : 'text';
  // a group that became a supergroup: followed to its new chat id (handlers/migration.ts)
  if (typeof message.migrate_to_chat_id === 'number') return 'migration';
  for (const kind of MEDIA) if (message[kind] !== undefined) return kind;
  return SERVICE.some((field) => message[field] !== undefined) ? 'service' : 'unknown';
}

/** The forum topic of a message (`message_thread_id` of a topic message), else null. */
export function topicOf(message: TgMessage): number | null {
  const thread = message.message_thread_id;
  return message.is_topic_message === true && typeof thread === 'number' ? thread : null;
}

/** Classifies an update; `keepText` is false for chats whose text must not be stored. */
export function classifyUpdate(update: TgUpdate, keepText: (chatId: number) => boolean): ClassifiedUpdate {
  const base = { updateId: update.update_id };
  const fromMessage = (message: TgMessage, kind: string, skipReason: string | null): ClassifiedUpdate => {
    const kept = keepText(message.chat.id);
    // a file is kept as Telegram described it, with its caption as the text (an allowed chat's only)
    const media = isMediaKind(kind) && kept ? mediaOf(message, kind) : null;
    const caption = typeof message.caption === 'string' ? message.caption : null;
    const groupId = message.media_group_id;
    return {
      ...base,
      chatId: message.chat.id,
      messageId: message.message_id,
      kind,
      text: !kept
        ? null
        : kind === 'text' || kind === 'command'
          ? (message.text ?? null)
          : kind === 'migration'
            ? String(message.migrate_to_chat_id)
            : media
              ? caption
              : null,
      lane:
        kind === 'command' ? commandLane(message.text ?? '') : kind === 'migration' ? 'control' : 'answer',
      fromId: message.from?.id ?? null,
      sentAt: typeof message.date === 'number' ? message.date * 1000 : null,
      media: media === null ? null : JSON.stringify(media),
      mediaGroupId: media !== null && typeof groupId === 'string' ? groupId : null,
      threadId: topicOf(message),
      skipReason,
    };
  };
  if (update.message?.chat) return fromMessage(update.message, messageKind(update.message), null);
  const press = update.callback_query;
  if (press) {
    const chatId = press.message?.chat.id ?? null;
    return {
      ...base,
      chatId,
      messageId: press.message?.message_id ?? null,
      kind: 'callback_query',
      text: chatId !== null && keepText(chatId) ? (press.data ?? null) : null,
      lane: 'control',
      fromId: press.from?.id ?? null,
      callbackId: press.id,
      sentAt: null,
      // a press without its message (an inline-mode one, or on a message too old for Telegram to
      // send along) has no chat to act in, but is still answered, so its button stops spinning
      skipReason: null,
    };
  }
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
