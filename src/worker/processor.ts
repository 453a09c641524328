import type Database from 'better-sqlite3';
import type { WorkerConfig } from '../shared/config';
import { describeError, type Logger } from '../shared/log';
import { redact } from '../shared/redact';
import { claimNext, nextAvailableAt } from '../queue/claim';
import { getKv, setKv } from '../queue/kv';
import { decideFailure, type RetryPolicy } from '../queue/policy';
import type { InboxRow } from '../queue/row';
import { completeItem, failItem, markPartsSent, releaseItem, skipItem, storeReply } from '../queue/settle';
import { buildContext, type Turn } from './context';
import { ContextTooLongError, EdgeError } from './errors';
import { formatReply } from './format';
import type { ModelCall } from './model';
import { deadNotice, EMPTY_NOTICE, privateNotice, unsupportedNotice } from './notices';
import { sendNotice, sendParts } from './replier';
import type { TelegramClient } from './telegram';

export interface ProcessorDeps {
  readonly sqlite: Database.Database;
  readonly config: WorkerConfig;
  readonly telegram: TelegramClient;
  readonly model: ModelCall;
  readonly log: Logger;
  readonly now: () => number;
  readonly random: () => number;
  /** Called after every message answered (the crash-test mode counts them). */
  readonly onCompleted?: () => void;
  /** Test-only triggers (`WORKER_TEST_TRIGGERS=1`): `/__crash`, `/__hang`. */
  readonly testTriggers?: boolean;
}

/** Raised when the worker must stop (bad Telegram token): main exits 78. */
export class FatalWorkerError extends Error {
  constructor(readonly edge: EdgeError) {
    super(edge.message);
    this.name = 'FatalWorkerError';
  }
}

const TYPING_EVERY_MS = 4500;
const IDLE_RECHECK_MS = 30_000;
const PAUSE_MS = 60_000;
const PRIVATE_NOTICE_EVERY_MS = 24 * 3600 * 1000;
const HISTORY_ROWS = 400;

/**
 * Works the inbox: `concurrency` loops, each claiming one ready item at a time through the
 * atomic claim (per chat in order, never two of one chat at once).
 */
export class Processor {
  private stopping = false;
  /** Loops waiting for work; `wake` releases them all. */
  private readonly idlers = new Set<() => void>();
  private pausedUntil = 0;
  private readonly inFlight = new Map<number, AbortController>();
  private loops: Promise<void>[] = [];
  private fatal: ((err: FatalWorkerError) => void) | null = null;
  /** Rejects when processing hits a fatal error. */
  readonly failed: Promise<never> = new Promise((_resolve, reject) => (this.fatal = reject));
  private readonly policy: RetryPolicy;

  constructor(private readonly deps: ProcessorDeps) {
    this.policy = retryPolicy(deps.config);
    this.failed.catch(() => undefined);
  }

  /** Starts the loops. */
  start(): void {
    for (let i = 0; i < this.deps.config.worker.concurrency; i++) this.loops.push(this.loop());
  }

  /** New work may be ready: wake idle loops. */
  wake(): void {
    const idlers = [...this.idlers];
    this.idlers.clear();
    for (const release of idlers) release();
  }

  /**
   * Stops claiming, lets the items in flight finish within `graceMs`, then cancels what is
   * left and puts it back without counting the attempt.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wake();
    const all = Promise.all(this.loops);
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    if ((await Promise.race([all, timer])) === 'timeout') {
      for (const controller of this.inFlight.values()) controller.abort();
      await all;
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const now = this.deps.now();
      if (this.pausedUntil > now) {
        await this.idle(this.pausedUntil - now);
        continue;
      }
      let item: InboxRow | undefined;
      try {
        item = claimNext(this.deps.sqlite, now);
      } catch (err) {
        // Another process held the write lock past busy_timeout: nothing was claimed, try again.
        // (A failure while settling an item is left to crash the worker: PM2 restarts it and
        // crash recovery puts the item back.)
        this.deps.log.warn('could not claim the next message; retrying', { error: describeError(err) });
        await this.idle(1000);
        continue;
      }
      if (!item) {
        const next = nextAvailableAt(this.deps.sqlite);
        await this.idle(
          next === undefined ? IDLE_RECHECK_MS : Math.max(5, Math.min(IDLE_RECHECK_MS, next - now)),
        );
        continue;
      }
      // Another loop may find work too now that this one is busy
      this.wake();
      await this.process(item);
      // Finishing may have unblocked the next message of this chat for an idle loop
      this.wake();
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const release = (): void => {
        clearTimeout(timer);
        this.idlers.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      this.idlers.add(release);
    });
  }

  private async process(item: InboxRow): Promise<void> {
    const controller = new AbortController();
    this.inFlight.set(item.id, controller);
    const { log } = this.deps;
    try {
      await this.handle(item, controller.signal);
    } catch (err) {
      if (controller.signal.aborted && this.stopping) {
        releaseItem(this.deps.sqlite, item.id, this.deps.now());
        log.info('stopping: message put back for the next start', { id: item.id });
      } else {
        this.settleFailure(item, err);
      }
    } finally {
      this.inFlight.delete(item.id);
    }
  }

  private async handle(item: InboxRow, signal: AbortSignal): Promise<void> {
    const { sqlite, config, telegram, log } = this.deps;
    const chatId = item.chatId!;
    if (!isAllowed(config, chatId)) return this.refuseChat(item, signal);
    if (item.kind !== 'text') {
      await this.notify(item, unsupportedNotice(item.kind), signal);
      skipItem(sqlite, item.id, `not a text message (${item.kind})`, this.deps.now());
      return;
    }
    if (item.text === null) {
      // the chat was not allowed when the message arrived, so its text was never stored
      skipItem(
        sqlite,
        item.id,
        'text not stored: the chat was not allowed when the message arrived',
        this.deps.now(),
      );
      return;
    }
    const text = item.text;
    if (text.trim() === '') {
      await this.notify(item, EMPTY_NOTICE, signal);
      skipItem(sqlite, item.id, 'empty message', this.deps.now());
      return;
    }
    if (this.deps.testTriggers) await fireTestTrigger(text);

    let reply = item.reply;
    if (reply === null) {
      reply = await this.withTyping(chatId, () => this.ask(item, text, signal));
      // Stored before the first send: after a crash the stored answer is sent, not regenerated
      storeReply(sqlite, item.id, reply);
    } else {
      log.info('resending a stored reply (the model is not asked again)', {
        id: item.id,
        partsSent: item.replyPartsSent,
      });
    }
    const parts = formatReply(reply);
    await sendParts(
      telegram,
      log,
      chatId,
      item.messageId,
      parts,
      item.replyPartsSent,
      (n) => markPartsSent(sqlite, item.id, n),
      signal,
    );
    const now = this.deps.now();
    completeItem(sqlite, item, reply, now);
    log.info('answered', {
      id: item.id,
      chatId,
      parts: parts.length,
      attempt: item.attempts,
      ms: now - item.receivedAt,
    });
    this.deps.onCompleted?.();
  }

  /** One model call; a context the model finds too long is trimmed harder and tried once more. */
  private async ask(item: InboxRow, text: string, signal: AbortSignal): Promise<string> {
    const { config } = this.deps;
    const past = this.history(item.chatId!, item.id);
    const budget = config.worker.contextMaxTokens;
    try {
      return await this.deps.model(buildContext(config.worker.systemPrompt, past, text, budget), signal);
    } catch (err) {
      if (!(err instanceof ContextTooLongError)) throw err;
      this.deps.log.warn('the model found the context too long; retrying with a quarter of the budget', {
        id: item.id,
      });
      return await this.deps.model(
        buildContext(config.worker.systemPrompt, past, text, Math.floor(budget / 4)),
        signal,
      );
    }
  }

  private history(chatId: number, beforeInboxId: number): Turn[] {
    const rows = this.deps.sqlite
      .prepare(
        `SELECT role, text FROM history WHERE chat_id = ? AND (inbox_id IS NULL OR inbox_id < ?) ORDER BY id DESC LIMIT ?`,
      )
      .all(chatId, beforeInboxId, HISTORY_ROWS) as Turn[];
    return rows.reverse();
  }

  private async withTyping<T>(chatId: number, work: () => Promise<T>): Promise<T> {
    void this.deps.telegram.sendTyping(chatId);
    const timer = setInterval(() => void this.deps.telegram.sendTyping(chatId), TYPING_EVERY_MS);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  private async refuseChat(item: InboxRow, signal: AbortSignal): Promise<void> {
    const { sqlite, config, log } = this.deps;
    const chatId = item.chatId!;
    const now = this.deps.now();
    const key = `private_notice:${chatId}`;
    const last = Number(getKv(sqlite, key) ?? 0);
    const empty = config.telegram.allowedChatIds.length === 0;
    if (now - last >= PRIVATE_NOTICE_EVERY_MS) {
      log.warn(
        empty
          ? 'a chat wrote but TG_ALLOWED_CHAT_IDS is empty: the bot answers no one'
          : 'a chat that is not in TG_ALLOWED_CHAT_IDS wrote; not answered',
        { chatId },
      );
      setKv(sqlite, key, String(now), now);
      await this.notify(item, privateNotice(chatId, empty), signal);
    }
    skipItem(sqlite, item.id, 'chat not allowed (TG_ALLOWED_CHAT_IDS)', now);
  }

  /** A notice in place of an answer; only a fatal error is worth more than a log line. */
  private async notify(item: InboxRow, text: string, signal?: AbortSignal): Promise<void> {
    try {
      await sendNotice(this.deps.telegram, this.deps.log, item.chatId!, item.messageId, text, signal);
    } catch (err) {
      if (err instanceof EdgeError && err.errorClass === 'fatal') throw err;
      this.deps.log.warn('could not send a notice', { id: item.id, error: describeError(err) });
    }
  }

  private settleFailure(item: InboxRow, err: unknown): void {
    const { sqlite, log } = this.deps;
    const now = this.deps.now();
    const edge =
      err instanceof EdgeError
        ? err
        : new EdgeError('transient', 'worker', 'internal', redact(describeError(err)));
    if (edge.errorClass === 'fatal') {
      releaseItem(sqlite, item.id, now);
      this.stopping = true;
      this.fatal?.(new FatalWorkerError(edge));
      return;
    }
    if (edge.errorClass === 'paused') {
      releaseItem(sqlite, item.id, now + PAUSE_MS);
      this.pausedUntil = now + PAUSE_MS;
      log.error(`processing paused for ${PAUSE_MS / 1000}s: ${edge.message}`, { id: item.id });
      return;
    }
    const fate = decideFailure(
      this.policy,
      item.attempts,
      edge.errorClass === 'permanent',
      now,
      this.deps.random(),
      edge.retryAfterMs,
    );
    failItem(
      sqlite,
      item.id,
      fate,
      { errorClass: edge.errorClass, code: `${edge.service}:${edge.code}`, message: redact(edge.message) },
      now,
    );
    if (fate.status === 'dead') {
      log.error('message is dead (a dead letter): it will not be retried', {
        id: item.id,
        chatId: item.chatId,
        attempts: item.attempts,
        error: edge.message,
      });
      void this.notifyDead(item);
    } else {
      log.warn('attempt failed; retrying later', {
        id: item.id,
        attempt: item.attempts,
        retryInMs: fate.availableAt - now,
        error: edge.message,
      });
    }
  }

  /** Tells the user their message could not be answered (best effort). */
  async notifyDead(item: InboxRow): Promise<void> {
    if (item.chatId === null || !isAllowed(this.deps.config, item.chatId)) return;
    try {
      await sendNotice(this.deps.telegram, this.deps.log, item.chatId, item.messageId, deadNotice(item.id));
    } catch (err) {
      this.deps.log.warn('could not send the dead-letter notice', { id: item.id, error: describeError(err) });
    }
  }
}

/** The retry policy the configuration asks for. */
export function retryPolicy(config: WorkerConfig): RetryPolicy {
  return {
    maxAttempts: config.worker.maxAttempts,
    baseSeconds: config.worker.retryBaseSeconds,
    maxSeconds: config.worker.retryMaxSeconds,
  };
}

/**
 * How many times a message may kill the worker before it is dead: `WORKER_MAX_ATTEMPTS`, but
 * fewer than the supervisor's crash-loop threshold, or one poison message would make the
 * supervisor halt a good revision (or roll back a sound release) instead of the message dying.
 */
export function crashAttemptLimit(config: WorkerConfig): number {
  return Math.max(1, Math.min(config.worker.maxAttempts, config.worker.crashLoopRestarts - 1));
}

/** Whether the worker answers this chat. */
export function isAllowed(config: WorkerConfig, chatId: number): boolean {
  return config.telegram.allowedChatIds.includes(chatId);
}

/** Test-only: `/__crash` kills the worker mid-message like a real bug would; `/__hang` freezes it. */
async function fireTestTrigger(text: string): Promise<void> {
  if (text === '/__crash') {
    // Thrown outside any promise chain, so the process dies with the item still `processing`
    setImmediate(() => {
      throw new Error('test trigger: crash');
    });
    await new Promise<never>(() => undefined);
  }
  if (text === '/__hang') {
    for (;;) {
      // a hung worker: the event loop never turns again, so heartbeats stop
    }
  }
}
