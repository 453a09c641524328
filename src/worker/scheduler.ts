import { inTopicOf } from './telegram/topic';
import type { Logger } from '../shared/log';
import { describeError } from '../shared/log';
import { redact } from '../shared/redact';
import { decideFailure, type RetryPolicy } from '../queue/policy';
import type { InboxRow, Lane } from '../queue/row';
import type { Store } from '../queue/store';
import { AbortReason } from '../agent/abort-reasons';
import { EdgeError } from './errors';
import { abortedOutcome, type Handler, type Outcome } from './handlers/handler';

export interface SchedulerDeps {
  readonly store: Store;
  /** The handler for an item (routing is the caller's decision). */
  readonly handlerFor: (item: InboxRow) => Handler;
  readonly policy: RetryPolicy;
  /**
   * The loops per lane: how many items of that lane may be in flight at once (one per chat and
   * lane at most: the claim sees to that).
   */
  readonly lanes: readonly { readonly lane: Lane; readonly concurrency: number }[];
  readonly log: Logger;
  readonly now: () => number;
  readonly random: () => number;
  /** Called after an item is settled, with its outcome (metrics, the crash-test counter). */
  readonly onSettled?: (item: InboxRow, outcome: Outcome) => void;
  /** Called when an item becomes dead after a failure, with that failure (the dead-letter notice). */
  readonly onDead?: (item: InboxRow, error: EdgeError) => void;
}

/** Raised when the worker must stop (bad Telegram token): main exits 78. */
export class FatalWorkerError extends Error {
  constructor(readonly edge: EdgeError) {
    super(edge.message);
    this.name = 'FatalWorkerError';
  }
}

// With nothing to claim and no known next time, the loops look again this often anyway (another
// process, the CLI's `queue retry`, may have made work ready without waking us).
const IDLE_RECHECK_MS = 30_000;
// A credential or model-name problem: wait this long before trying anything again.
const PAUSE_MS = 60_000;
// Another process held the write lock past busy_timeout while we claimed.
const CLAIM_RETRY_MS = 1000;
// Parked items whose time has come are looked for at most this often: an UPDATE per claim would
// take the write lock for nothing on every message
const UNPARK_EVERY_MS = 1000;

/**
 * Claim → handler → settle. Runs `concurrency` loops, each claiming one ready item at a time
 * through the store's atomic claim, handing it to its handler, and settling the outcome: done,
 * retry later, dead, skipped, parked, or released (put back uncounted). Knows nothing of
 * Telegram or the model.
 */
export class Scheduler {
  private stopping = false;
  /** Loops waiting for work; `wake` releases them all. */
  private readonly idlers = new Set<() => void>();
  private pausedUntil = 0;
  private unparkedAt = Number.NEGATIVE_INFINITY;
  private readonly inFlight = new Map<number, { item: InboxRow; controller: AbortController }>();
  private loops: Promise<void>[] = [];
  private fatal: ((err: FatalWorkerError) => void) | null = null;
  /** Rejects when processing hits a fatal error. */
  readonly failed: Promise<never> = new Promise((_resolve, reject) => (this.fatal = reject));

  constructor(private readonly deps: SchedulerDeps) {
    this.failed.catch(() => undefined);
  }

  /** Starts the loops. */
  start(): void {
    for (const { lane, concurrency } of this.deps.lanes) {
      for (let i = 0; i < concurrency; i++) this.loops.push(this.loop(lane));
    }
  }

  /** New work may be ready: wake idle loops. */
  wake(): void {
    const idlers = [...this.idlers];
    this.idlers.clear();
    for (const release of idlers) release();
  }

  /** The items being worked on now. */
  running(): InboxRow[] {
    return [...this.inFlight.values()].map((entry) => entry.item);
  }

  /**
   * Aborts the item of `chatId`'s `lane` in flight, if any, as stopped by its person: it ends
   * `skipped` unless its handler had already finished. Given a `threadId` (null: outside any
   * topic), only an item of that forum topic. Returns whether one was aborted.
   */
  cancel(chatId: number, lane: Lane = 'answer', threadId?: number | null): boolean {
    for (const { item, controller } of this.inFlight.values()) {
      const inTopic = threadId === undefined || item.threadId === threadId;
      if (item.chatId === chatId && item.lane === lane && inTopic && !controller.signal.aborted) {
        controller.abort(new AbortReason('stopped-by-user'));
        return true;
      }
    }
    return false;
  }

  /**
   * Stops claiming, lets the items in flight finish within `graceMs`, then aborts what is left
   * as the worker stopping: its handlers release it, and it goes back without counting the attempt.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wake();
    const all = Promise.all(this.loops);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)),
    );
    if ((await Promise.race([all, deadline])) === 'timeout') {
      for (const { controller } of this.inFlight.values()) {
        controller.abort(new AbortReason('worker-stopping'));
      }
      await all;
    }
    clearTimeout(timer);
  }

  private async loop(lane: Lane): Promise<void> {
    const { store, log } = this.deps;
    while (!this.stopping) {
      const now = this.deps.now();
      if (this.pausedUntil > now) {
        await this.idle(this.pausedUntil - now);
        continue;
      }
      let item: InboxRow | undefined;
      try {
        if (now - this.unparkedAt >= UNPARK_EVERY_MS) {
          this.unparkedAt = now;
          store.unparkDue(now);
        }
        item = store.claim(now, lane);
      } catch (err) {
        // Another process held the write lock past busy_timeout: nothing was claimed, try again.
        // (A failure while settling an item is left to crash the worker: PM2 restarts it and
        // crash recovery puts the item back.)
        log.warn('could not claim the next message; retrying', { error: describeError(err) });
        await this.idle(CLAIM_RETRY_MS);
        continue;
      }
      if (!item) {
        const next = store.nextReadyAt();
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

  private process(item: InboxRow): Promise<void> {
    // everything sent for an item of a forum topic, its dead notice too, goes to that topic
    // (telegram/topic.ts)
    return inTopicOf(item, () => this.work(item));
  }

  private async work(item: InboxRow): Promise<void> {
    const controller = new AbortController();
    this.inFlight.set(item.id, { item, controller });
    try {
      let outcome: Outcome;
      try {
        outcome = await this.deps.handlerFor(item).handle(item, controller.signal);
      } catch (err) {
        // Handlers return the fate of an abort themselves (`released`, or skipped by the user).
        // This fallback is for a handler that throws once its signal is aborted anyway: the
        // contract lets any handler throw, and the notice and button-press handlers do not wrap
        // their work (they rethrow only a fatal error). A stop must not cost a message an attempt.
        outcome = abortedOutcome(controller.signal) ?? { kind: 'retry', error: asEdgeError(err) };
      }
      this.settle(item, outcome);
    } finally {
      this.inFlight.delete(item.id);
    }
  }

  private settle(item: InboxRow, outcome: Outcome): void {
    const { store } = this.deps;
    const now = this.deps.now();
    switch (outcome.kind) {
      case 'done':
        store.complete(item, outcome.reply, now);
        break;
      case 'skipped':
        store.skip(item.id, outcome.reason, now);
        break;
      case 'parked':
        store.park(item.id, outcome.until, outcome.reason);
        break;
      case 'released':
        store.release(item.id, now);
        this.deps.log.info('stopping: message put back for the next start', { id: item.id });
        break;
      case 'retry':
      case 'dead':
        this.settleFailure(item, outcome.error, outcome.kind === 'dead');
        break;
    }
    this.deps.onSettled?.(item, outcome);
  }

  private settleFailure(item: InboxRow, edge: EdgeError, dead: boolean): void {
    const { store, log } = this.deps;
    const now = this.deps.now();
    if (edge.errorClass === 'fatal') {
      store.release(item.id, now);
      this.stopping = true;
      this.fatal?.(new FatalWorkerError(edge));
      return;
    }
    if (edge.errorClass === 'paused') {
      store.release(item.id, now + PAUSE_MS);
      this.pausedUntil = now + PAUSE_MS;
      log.error(`processing paused for ${PAUSE_MS / 1000}s: ${edge.message}`, { id: item.id });
      return;
    }
    const fate = decideFailure(
      this.deps.policy,
      item.attempts,
      dead || edge.errorClass === 'permanent',
      now,
      this.deps.random(),
      edge.retryAfterMs,
    );
    store.fail(
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
      this.deps.onDead?.(item, edge);
    } else {
      log.warn('attempt failed; retrying later', {
        id: item.id,
        attempt: item.attempts,
        retryInMs: fate.availableAt - now,
        error: edge.message,
      });
    }
  }
}

/** Any failure as an `EdgeError`: ours (a bug, the database) is transient and labelled `worker`. */
export function asEdgeError(err: unknown): EdgeError {
  return err instanceof EdgeError
    ? err
    : new EdgeError('transient', 'worker', 'internal', redact(describeError(err)));
}
