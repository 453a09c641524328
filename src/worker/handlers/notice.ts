import { describeError, type Logger } from '../../shared/log';
import type { InboxRow } from '../../queue/row';
import type { Store } from '../../queue/store';
import { EdgeError } from '../errors';
import { deadNotice, privateNotice } from '../notices';
import { sendNotice, type SendTelegram } from '../replier';
import type { Handler, Outcome } from './handler';
import { KV } from '../../queue/kv';

export interface NoticeDeps {
  readonly store: Store;
  readonly telegram: SendTelegram;
  readonly log: Logger;
  readonly now: () => number;
  /** Whether TG_ALLOWED_CHAT_IDS is empty (the bot answers no one). */
  readonly allowlistEmpty: boolean;
}

// A chat that is not allowed is told its chat id at most this often
const PRIVATE_NOTICE_EVERY_MS = 24 * 3600 * 1000;

/** Sends a notice in place of an answer, then skips the item with the reason. */
export function noticeHandler(deps: NoticeDeps, text: string, reason: string): Handler {
  return {
    async handle(item, signal): Promise<Outcome> {
      await notify(deps, item, text, signal);
      return { kind: 'skipped', reason };
    },
  };
}

/** A chat that is not allowed: once a day a notice with its chat id, else nothing; skipped. */
export function refusalHandler(deps: NoticeDeps): Handler {
  return {
    async handle(item, signal): Promise<Outcome> {
      const reason = 'chat not allowed (TG_ALLOWED_CHAT_IDS)';
      if (item.chatId === null) return { kind: 'skipped', reason };
      const { store, log } = deps;
      const now = deps.now();
      const key = KV.privateNotice(item.chatId);
      if (now - Number(store.getKv(key) ?? 0) >= PRIVATE_NOTICE_EVERY_MS) {
        log.warn(
          deps.allowlistEmpty
            ? 'a chat wrote but TG_ALLOWED_CHAT_IDS is empty: the bot answers no one'
            : 'a chat that is not in TG_ALLOWED_CHAT_IDS wrote; not answered',
          { chatId: item.chatId },
        );
        store.setKv(key, String(now), now);
        await notify(deps, item, privateNotice(item.chatId, deps.allowlistEmpty), signal);
      }
      return { kind: 'skipped', reason };
    },
  };
}

/** A notice as a reply; only a fatal error is worth more than a log line. */
async function notify(deps: NoticeDeps, item: InboxRow, text: string, signal: AbortSignal): Promise<void> {
  try {
    await sendNotice(deps.telegram, deps.log, item.chatId!, item.messageId, text, signal);
  } catch (err) {
    if (err instanceof EdgeError && err.errorClass === 'fatal') throw err;
    deps.log.warn('could not send a notice', { id: item.id, error: describeError(err) });
  }
}

/**
 * Tells the person their message could not be answered (best effort, never throws), and why when
 * the model's server said why (`error`, the failure that made it dead).
 */
export async function sendDeadNotice(
  deps: Pick<NoticeDeps, 'telegram' | 'log'>,
  item: InboxRow,
  error?: EdgeError,
): Promise<void> {
  if (item.chatId === null) return;
  const text = deadNotice(item.id, error?.service === 'openai' ? error.said : undefined);
  try {
    await sendNotice(deps.telegram, deps.log, item.chatId, item.messageId, text);
  } catch (err) {
    deps.log.warn('could not send the dead-letter notice', { id: item.id, error: describeError(err) });
  }
}
