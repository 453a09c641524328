// When each reply reaches the fake Telegram, as an event with a high-resolution time: the fake
// records `Date.now()` (ms) and only offers polling, both too coarse for a 5 ms latency.
import type { FakeTelegram } from '../../test/helpers/fake-telegram';

/** Counts the messages a fake Telegram accepts and resolves waits on that count. */
export interface ReplyProbe {
  /** Messages accepted since the probe was attached. */
  readonly count: number;
  /** `performance.now()` of the last accepted message (0 before any). */
  readonly lastAt: number;
  /** Resolves with `performance.now()` of the moment the count reached `target`. */
  waitForCount(target: number, timeoutMs: number, what: string): Promise<number>;
  /** Drops what the fake has recorded so far (sent messages, calls), to keep a long run's memory flat. */
  forgetRecorded(): void;
}

interface Waiter {
  target: number;
  resolve(at: number): void;
}

/** Attaches a probe to `telegram` (by wrapping its `sent.push`, the one place a reply is recorded). */
export function watchReplies(telegram: FakeTelegram): ReplyProbe {
  const sent = telegram.sent;
  const push = sent.push.bind(sent);
  const waiters = new Set<Waiter>();
  let count = 0;
  let reachedAt = 0;
  sent.push = (...items) => {
    const at = performance.now();
    count += items.length;
    reachedAt = at;
    for (const waiter of waiters) {
      if (count >= waiter.target) {
        waiters.delete(waiter);
        waiter.resolve(at);
      }
    }
    return push(...items);
  };
  return {
    get count() {
      return count;
    },
    get lastAt() {
      return reachedAt;
    },
    waitForCount(target, timeoutMs, what) {
      if (count >= target) return Promise.resolve(reachedAt);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what}: ${count} of ${target} replies, ` +
                `${telegram.pendingCount()} updates not yet fetched`,
            ),
          );
        }, timeoutMs);
        const waiter: Waiter = {
          target,
          resolve: (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        };
        waiters.add(waiter);
      });
    },
    forgetRecorded() {
      sent.splice(0);
      telegram.calls.splice(0);
    },
  };
}
