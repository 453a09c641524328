import type Database from 'better-sqlite3';
import { describeError, type Logger } from '../shared/log';
import { storeBatch, type NewInboxItem } from '../queue/enqueue';
import { endColdStart } from '../queue/cold-start';
import { getKv, KV, setKv } from '../queue/kv';
import { coldStartSkipReason } from '../queue/policy';
import { classifyUpdate, type TgUpdate } from './classify-update';
import { EdgeError } from './errors';
import type { TelegramClient } from './telegram/client';
import { isTelegramFailure } from './telegram/failures';

export interface IngressOptions {
  readonly timeoutSeconds: number;
  readonly sleepSeconds: number;
  readonly dropPending: boolean;
  readonly pendingWindowSeconds: number;
  readonly pendingMaxMessages: number;
  /** Whether a chat's text may be stored (the allowlist). */
  readonly keepText: (chatId: number) => boolean;
}

export interface IngressDeps {
  readonly sqlite: Database.Database;
  readonly telegram: TelegramClient;
  readonly log: Logger;
  readonly now: () => number;
  /** Called after each stored batch that added work. */
  readonly onStored: () => void;
  /** Called after each poll loop turn, to prove the loop is alive. */
  readonly onTick?: () => void;
  /** Called after each poll: it worked, or it failed with this (secret-free) error. */
  readonly onPoll?: (result: { readonly ok: true } | { readonly ok: false; readonly error: string }) => void;
}

const MAX_BACKOFF_MS = 60_000;
// TG_SLEEP_SECONDS=0 must not turn an outage into a hot loop of requests and log lines
const MIN_BACKOFF_MS = 100;
// Telegram returns at most 100 updates a call: a shorter batch means nothing more is pending
const BATCH_LIMIT = 100;

/**
 * Long polling into the inbox. Each batch and the offset that acknowledges it are written in
 * one transaction before the next getUpdates is sent, so a kill at any instant
 * loses nothing and a restart re-reads at most what was not yet stored.
 */
export class Ingress {
  private readyResolve!: () => void;
  /** Resolves once a cold start's pending updates are stored and filtered. */
  readonly ready: Promise<void> = new Promise((resolve) => (this.readyResolve = resolve));

  constructor(
    private readonly options: IngressOptions,
    private readonly deps: IngressDeps,
  ) {}

  /** Polls until `signal` aborts; rejects only with a fatal error (bad token). */
  async run(signal: AbortSignal): Promise<void> {
    const { sqlite, log } = this.deps;
    const stored = getKv(sqlite, KV.telegramOffset);
    let offset = stored === undefined ? undefined : Number(stored);
    let coldStart =
      getKv(sqlite, KV.coldStart) === 'draining' || (offset === undefined && this.options.dropPending);
    if (coldStart) {
      setKv(sqlite, KV.coldStart, 'draining', this.deps.now());
      log.info('cold start: pending updates are filtered', {
        windowSeconds: this.options.pendingWindowSeconds,
        maxMessages: this.options.pendingMaxMessages,
      });
    }
    // The first poll after a start does not wait: what Telegram held while the worker was down is
    // stored before the first claim, so a recovered item goes behind it (see claim.ts), and a
    // start with nothing pending costs one short round trip, not a long poll.
    let firstPoll = true;
    let failures = 0;
    while (!signal.aborted) {
      this.deps.onTick?.();
      let updates: TgUpdate[];
      try {
        updates = await this.deps.telegram.getUpdates(
          offset,
          coldStart || firstPoll ? 0 : this.options.timeoutSeconds,
          signal,
        );
      } catch (err) {
        if (signal.aborted) break;
        // Telegram unreachable at start: work the stored backlog meanwhile
        if (firstPoll && !coldStart) this.readyResolve();
        firstPoll = false;
        const edge =
          err instanceof EdgeError ? err : new EdgeError('transient', 'telegram', 'unknown', String(err));
        if (edge.errorClass === 'fatal') throw edge;
        this.deps.onPoll?.({ ok: false, error: edge.message });
        failures++;
        const wait = edge.retryAfterMs ?? this.backoff(failures);
        if (isTelegramFailure(edge, 'conflict')) {
          log.warn(
            'Telegram answered 409 Conflict: another instance polls this bot (or a webhook is set); retrying',
            {
              waitMs: wait,
              detail: edge.message,
            },
          );
        } else {
          log.warn('polling Telegram failed; retrying', {
            waitMs: wait,
            code: edge.code,
            detail: edge.message,
          });
        }
        await sleep(wait, signal);
        continue;
      }
      if (updates.length > 0) {
        const last = updates[updates.length - 1]!.update_id;
        let added: number;
        try {
          added = this.store(updates, last + 1, coldStart);
        } catch (err) {
          // Not stored, so not acknowledged either: the same offset fetches them again
          failures++;
          const wait = this.backoff(failures);
          log.warn('could not store updates; fetching them again', {
            waitMs: wait,
            error: describeError(err),
          });
          await sleep(wait, signal);
          continue;
        }
        offset = last + 1;
        log.debug('stored updates', { count: updates.length, added, offset });
        if (added < updates.length) {
          // The offset is stored with each batch, so Telegram never resends one: a known update_id
          // means Telegram reused ids (it may after a week without updates). Say so, loudly.
          log.warn('Telegram sent update ids already in the inbox; those updates were not stored', {
            duplicates: updates.length - added,
            firstUpdateId: updates[0]!.update_id,
          });
        }
      }
      failures = 0;
      this.deps.onPoll?.({ ok: true });
      if (firstPoll && !coldStart) this.readyResolve();
      firstPoll = false;
      if (coldStart && updates.length < BATCH_LIMIT) {
        this.finishColdStart();
        coldStart = false;
      }
      this.deps.onStored();
    }
  }

  /** The pause after the nth failure in a row: TG_SLEEP_SECONDS, doubling, capped. */
  private backoff(failures: number): number {
    const base = Math.max(MIN_BACKOFF_MS, this.options.sleepSeconds * 1000);
    return Math.min(MAX_BACKOFF_MS, base * 2 ** (failures - 1));
  }

  private store(updates: readonly TgUpdate[], nextOffset: number, coldStart: boolean): number {
    const now = this.deps.now();
    const items: NewInboxItem[] = updates.map((update) => {
      const c = classifyUpdate(update, this.options.keepText);
      const ageReason = coldStart
        ? coldStartSkipReason(c.sentAt, 0, now, this.options.pendingWindowSeconds, Number.MAX_SAFE_INTEGER)
        : null;
      const reason = c.skipReason ?? ageReason;
      return { ...c, status: reason ? 'skipped' : 'queued', error: reason ?? undefined };
    });
    return storeBatch(this.deps.sqlite, items, nextOffset, now);
  }

  /** Keeps the newest TG_PENDING_MAX_MESSAGES of what the cold start queued; skips the rest. */
  private finishColdStart(): void {
    const { sqlite, now } = this.deps;
    const max = this.options.pendingMaxMessages;
    const reason = coldStartSkipReason(null, max, now(), this.options.pendingWindowSeconds, max)!;
    const skipped = endColdStart(sqlite, max, reason, now());
    this.deps.log.info('cold start done', { skippedOverMax: skipped });
    this.readyResolve();
  }
}

/** Waits `ms`, or less if the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
