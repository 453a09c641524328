// The `prompt_cache_key` of a chat's session on a project. OpenAI routes requests with the same
// key to the same cache, so every request of a session should carry one, and the key should stay
// the same across the session's runs and the worker's restarts. It is a hash: the chat's id goes
// to the provider only as part of a digest.
import crypto from 'node:crypto';

/** Hex characters of the digest kept: 128 bits, far from any collision between chats. */
const KEY_HEX_CHARS = 32;

/** The cache key of the chat `chatId` working on `project`. */
export function promptCacheKey(chatId: number, project: string): string {
  const digest = crypto.createHash('sha256').update(`${chatId}\n${project}`).digest('hex');
  return `autonous-${digest.slice(0, KEY_HEX_CHARS)}`;
}
