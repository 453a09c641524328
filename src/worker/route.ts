import type { InboxRow } from '../queue/row';
import { SELFTEST_KIND } from '../shared/contracts';
import { isMediaKind } from './media';
import { EMPTY_NOTICE, unsupportedNotice } from './notices';

/** What to do with an item, decided from the item alone. */
export type Route =
  /** A chat that is not allowed: the once-a-day notice with its chat id, then skipped. */
  | { readonly kind: 'refuse' }
  /** Not answerable: a notice in place of an answer, then skipped with the reason. */
  | { readonly kind: 'notice'; readonly text: string; readonly reason: string }
  /** Skipped without a word. */
  | { readonly kind: 'skip'; readonly reason: string }
  /** A bot command (`/stop`, `/help`, ...): the control lane. */
  | { readonly kind: 'command' }
  /** A button press: the control lane. */
  | { readonly kind: 'callback' }
  /** A message for the model. */
  | { readonly kind: 'chat' }
  /** An allowed group became a supergroup: follow it to its new id. */
  | { readonly kind: 'migrate' }
  /** The worker's own self-test item: through the scheduler and done, nothing sent. */
  | { readonly kind: 'selftest' };

/** Routes an item: the allowlist first, then what kind of update it is. Pure. */
export function routeItem(item: InboxRow, isAllowed: (chatId: number) => boolean): Route {
  // no chat to allow; only the worker writes negative update ids, so no update can pass for one
  if (item.kind === SELFTEST_KIND && item.updateId < 0) return { kind: 'selftest' };
  // every press is answered, also one without its message (no chat: nothing is decided by it)
  if (item.kind === 'callback_query' && item.chatId === null) return { kind: 'callback' };
  if (item.chatId === null || !isAllowed(item.chatId)) return { kind: 'refuse' };
  if (item.kind === 'command' && item.text !== null) return { kind: 'command' };
  if (item.kind === 'callback_query') return { kind: 'callback' };
  // a file for the agent: saved into the project (or transcribed) before its run, its caption the text
  if (isMediaKind(item.kind)) {
    return item.media === null
      ? { kind: 'skip', reason: 'file not stored: the chat was not allowed when the message arrived' }
      : { kind: 'chat' };
  }
  if (item.kind === 'migration' && item.text !== null) return { kind: 'migrate' };
  // a topic opened, a pin, members, the supergroup's side of a migration: nobody wrote to the bot
  if (item.kind === 'service') return { kind: 'skip', reason: 'a service message: nothing to answer' };
  if (item.kind !== 'text' && item.kind !== 'command') {
    return {
      kind: 'notice',
      text: unsupportedNotice(item.kind),
      reason: `not a text message (${item.kind})`,
    };
  }
  // the chat was not allowed when the message arrived, so its text was never stored
  if (item.text === null) {
    return { kind: 'skip', reason: 'text not stored: the chat was not allowed when the message arrived' };
  }
  if (item.text.trim() === '') return { kind: 'notice', text: EMPTY_NOTICE, reason: 'empty message' };
  return { kind: 'chat' };
}
