// The forum topic of the work in progress. A message in a topic is answered in that topic: every
// message the worker sends for it (the answer and its parts, drafts, typing, the status message,
// cards, notices, command answers) carries its `message_thread_id`. Rather than thread the topic
// through every sender, the scheduler runs each item's handler inside its topic, and the Bot API
// client adds the topic to each send to that chat (`TelegramClient`).

import { AsyncLocalStorage } from 'node:async_hooks';

/** A chat's forum topic. */
export interface Topic {
  readonly chatId: number;
  readonly threadId: number;
}

const current = new AsyncLocalStorage<Topic>();

/** Runs `work` in the topic of `item` (as is, when the item is in no topic). */
export function inTopicOf<T>(
  item: { readonly chatId: number | null; readonly threadId: number | null },
  work: () => T,
): T {
  if (item.chatId === null || item.threadId === null) return work();
  return current.run({ chatId: item.chatId, threadId: item.threadId }, work);
}

/** The topic a message sent now to `chatId` belongs in, or undefined outside any topic. */
export function topicThread(chatId: unknown): number | undefined {
  const topic = current.getStore();
  return topic !== undefined && topic.chatId === chatId ? topic.threadId : undefined;
}
