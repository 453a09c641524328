import { KV } from '../queue/kv';
import type { Store } from '../queue/store';

/** The model a chat uses: its `/model` choice while still offered, else the default. */
export function chatModel(
  store: Store,
  chatId: number,
  defaultModel: string,
  models: readonly string[],
): string {
  const chosen = store.getKv(KV.chatModel(chatId));
  return chosen !== undefined && models.includes(chosen) ? chosen : defaultModel;
}
