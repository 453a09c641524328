import { KV } from '../queue/kv';
import type { InboxRow } from '../queue/row';
import type { Store } from '../queue/store';
import { buildContext, type Context } from './context';

// How far back the context may look at most; the token budget then decides what is sent
const HISTORY_ROWS = 400;

/**
 * What the model is sent for an item's text: the system prompt, the chat's past turns
 * that fit `budget` (from its last `/new` on, for a message sent after it: one sent before still
 * sees the conversation it was part of), and the text. Reads no further back than fits.
 */
export function contextFor(
  store: Pick<Store, 'getKv' | 'recentTurns'>,
  item: InboxRow,
  text: string,
  systemPrompt: string,
  budget: number,
): Context {
  const chatId = item.chatId!;
  const start = Number(store.getKv(KV.conversationStart(chatId)) ?? 0);
  const past = store.recentTurns(chatId, item.id, HISTORY_ROWS, item.id > start ? start : 0, budget);
  return buildContext(systemPrompt, past, text, budget);
}
