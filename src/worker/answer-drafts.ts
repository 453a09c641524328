// Where an answer's drafts come from: one rule for when a chat gets them, shared by every handler
// that streams a model response.
import type { AnswerDeps } from './answer-deps';
import { DraftStream } from './draft-stream';

/**
 * A draft stream for one model response in `chatId`, or null: drafts are off, or the chat is not
 * private (Telegram shows drafts in private chats only, whose id is the person's user id, > 0).
 */
export function openDrafts(
  deps: Pick<AnswerDeps, 'drafts' | 'telegram' | 'log' | 'now'>,
  chatId: number,
  signal: AbortSignal,
): DraftStream | null {
  if (deps.drafts === null || chatId <= 0) return null;
  return new DraftStream(chatId, {
    ...deps.drafts,
    telegram: deps.telegram,
    log: deps.log,
    now: deps.now,
    signal,
  });
}
