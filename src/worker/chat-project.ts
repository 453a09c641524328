import { DEFAULT_PROJECT } from '../workspace/projects';
import type { Store } from '../queue/store';

/**
 * The project a chat's runs work in. Every chat works in `default` until projects can be chosen
 * (`/project`, issue 11), which replaces this function.
 */
export function chatProject(_store: Store, _chatId: number): string {
  return DEFAULT_PROJECT;
}
