import type { Logger } from '../../shared/log';
import type { InboxRow } from '../../queue/row';
import type { Store } from '../../queue/store';
import { contextFor } from '../chat-context';
import { ContextTooLongError } from '../errors';
import type { ModelPort, ModelResponse } from '../../agent/ports';
import { DraftStream, type DraftSupport, type DraftTelegram } from '../draft-stream';
import type { AnswerUsage } from '../../queue/settle';
import type { TelegramClient } from '../telegram/client';
import { settlingAborts, type Handler, type Outcome } from './handler';
import { withTyping } from '../typing';
import { deliverAnswer, refuseOverDailyLimit } from '../answer-delivery';
import { fireTestTrigger } from '../test-triggers';

/** The Bot API methods a chat reply uses. */
export type ReplyTelegram = Pick<TelegramClient, 'sendMessage' | 'sendTyping'> & DraftTelegram;

export interface ChatReplyDeps {
  readonly store: Store;
  readonly telegram: ReplyTelegram;
  readonly model: ModelPort;
  readonly log: Logger;
  /** The model a chat uses now (its `/model` choice, else the default). */
  readonly modelFor: (chatId: number) => string;
  /** Drafts in private chats: off, or the worker-wide support state and their pace. */
  readonly drafts: { readonly support: DraftSupport; readonly intervalMs: number } | null;
  readonly systemPrompt: string;
  readonly contextMaxTokens: number;
  /** Tokens a chat may use per UTC day; 0 is no limit. */
  readonly dailyTokensPerChat: number;
  readonly now: () => number;
  /** Test-only triggers (`WORKER_TEST_TRIGGERS=1`): `/__crash`, `/__hang`. */
  readonly testTriggers?: boolean;
}

/**
 * One message → one model call → one reply: the answer is stored before its first
 * part is sent, so after a crash the stored answer is sent and the model is not asked again, and
 * only the parts Telegram has not accepted are sent.
 */
export class ChatReplyHandler implements Handler {
  constructor(private readonly deps: ChatReplyDeps) {}

  /** Answers a text message of an allowed chat; `/stop` skips it, a stopping worker releases it. */
  handle(item: InboxRow, signal: AbortSignal): Promise<Outcome> {
    return settlingAborts(signal, () => this.answer(item, signal));
  }

  private async answer(item: InboxRow, signal: AbortSignal): Promise<Outcome> {
    const { store } = this.deps;
    const chatId = item.chatId!;
    const text = item.text!;
    if (this.deps.testTriggers) await fireTestTrigger(text);
    let reply = item.reply;
    if (reply === null) {
      const refused = await refuseOverDailyLimit(this.deps, item, signal);
      if (refused) return refused;
      const answer = await withTyping(this.deps.telegram, chatId, signal, () =>
        this.askStreaming(item, text, signal),
      );
      reply = answer.content ?? '';
      store.storeAnswer(item, reply, usageOf(answer), this.deps.now());
    }
    return deliverAnswer(this.deps, item, reply, signal);
  }

  /** The model call, its text drafted as it grows in a private chat. */
  private async askStreaming(item: InboxRow, text: string, signal: AbortSignal): Promise<ModelResponse> {
    const chatId = item.chatId!;
    // Drafts exist in private chats only (a private chat's id is the person's user id, > 0)
    const drafts =
      this.deps.drafts && chatId > 0
        ? new DraftStream(chatId, {
            ...this.deps.drafts,
            telegram: this.deps.telegram,
            log: this.deps.log,
            now: this.deps.now,
            signal,
          })
        : null;
    try {
      return await this.ask(item, text, signal, drafts ? (t) => drafts.push(t) : undefined);
    } finally {
      drafts?.close();
    }
  }

  /** One model call; a context the model finds too long is trimmed harder and tried once more. */
  private async ask(
    item: InboxRow,
    text: string,
    signal: AbortSignal,
    onText: ((text: string) => void) | undefined,
  ): Promise<ModelResponse> {
    const { systemPrompt, contextMaxTokens: budget } = this.deps;
    const options = { signal, onText, model: this.deps.modelFor(item.chatId!) };
    try {
      return await this.deps.model(
        contextFor(this.deps.store, item, text, systemPrompt, budget),
        [],
        options,
      );
    } catch (err) {
      if (!(err instanceof ContextTooLongError)) throw err;
      this.deps.log.warn('the model found the context too long; retrying with a quarter of the budget', {
        id: item.id,
      });
      return await this.deps.model(
        contextFor(this.deps.store, item, text, systemPrompt, Math.floor(budget / 4)),
        [],
        options,
      );
    }
  }
}

function usageOf(answer: ModelResponse): AnswerUsage {
  return { model: answer.model, ...answer.usage };
}
