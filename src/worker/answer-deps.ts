// What every answer handler needs, whether the answer is a plain model call or an agent run: the
// handlers' own deps extend this instead of repeating its fields.
import type { ModelPort } from '../agent/ports';
import type { Store } from '../queue/store';
import type { Logger } from '../shared/log';
import type { DraftSupport, DraftTelegram } from './draft-stream';
import type { TelegramClient } from './telegram/client';

/** The Bot API methods every answer uses: the reply, typing, and drafts. */
export type AnswerTelegram = Pick<TelegramClient, 'sendMessage' | 'sendTyping'> & DraftTelegram;

/** Drafts in private chats: the worker-wide support state and their pace. */
export interface DraftSettings {
  readonly support: DraftSupport;
  readonly intervalMs: number;
}

/** The ports and settings every answer handler shares. */
export interface AnswerDeps {
  readonly store: Store;
  readonly telegram: AnswerTelegram;
  readonly model: ModelPort;
  readonly log: Logger;
  /** The model a chat uses now (its `/model` choice, else the default). */
  readonly modelFor: (chatId: number) => string;
  /** Drafts in private chats, or null when they are off. */
  readonly drafts: DraftSettings | null;
  readonly systemPrompt: string;
  /** OPENAI_SHOW_THINKING: a model's leading `<think>…</think>` is shown folded, not left out. */
  readonly showThinking: boolean;
  /** Tokens a chat may use per UTC day; 0 is no limit. */
  readonly dailyTokensPerChat: number;
  readonly now: () => number;
  /** Test-only triggers (`WORKER_TEST_TRIGGERS=1`): `/__crash`, `/__hang`. */
  readonly testTriggers?: boolean;
}
