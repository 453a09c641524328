// The worker's live figures, kept in memory: pure bookkeeping with `now` passed in, read by the
// PM2 metrics and the Prometheus endpoint alike.

import type { EdgeService } from '../errors';

const MINUTE_MS = 60_000;
// Reply times kept for the percentiles: the newest ones, at most this many
const REPLY_SAMPLES = 1000;

/** A snapshot of the figures. */
export interface MetricsSnapshot {
  readonly answeredPerMinute: number;
  readonly errorsPerMinute: number;
  /** Receipt → last part sent, over the newest replies; null before the first. */
  readonly replyP50Ms: number | null;
  readonly replyP95Ms: number | null;
  readonly answeredTotal: number;
  readonly deadTotal: number;
  /** Failed attempts by service; a service that never failed is absent. */
  readonly errorsTotal: Readonly<Partial<Record<EdgeService, number>>>;
}

/** Counts answers, errors and reply times; windows slide with the `now` each call gives. */
export class MetricsRecorder {
  private readonly answeredAt: number[] = [];
  private readonly erroredAt: number[] = [];
  private readonly replyMs: number[] = [];
  private answered = 0;
  private dead = 0;
  private readonly errors: Partial<Record<EdgeService, number>> = {};
  /** Called with each reply time (seconds), e.g. to feed a histogram. */
  onReply: ((seconds: number) => void) | undefined;

  /** An answer was sent; `replyMs` is from receipt to its last part. */
  answer(now: number, replyMs: number): void {
    this.answered++;
    this.answeredAt.push(now);
    this.replyMs.push(replyMs);
    if (this.replyMs.length > REPLY_SAMPLES) this.replyMs.shift();
    this.onReply?.(replyMs / 1000);
    this.trim(now);
  }

  /** A failed attempt, by the service that failed (`telegram`, `openai`, `worker`). */
  error(now: number, service: EdgeService): void {
    this.errors[service] = (this.errors[service] ?? 0) + 1;
    this.erroredAt.push(now);
    this.trim(now);
  }

  /** An item became dead. */
  deadLetter(): void {
    this.dead++;
  }

  /** The figures now. */
  snapshot(now: number): MetricsSnapshot {
    this.trim(now);
    const sorted = [...this.replyMs].sort((a, b) => a - b);
    return {
      answeredPerMinute: this.answeredAt.length,
      errorsPerMinute: this.erroredAt.length,
      replyP50Ms: percentile(sorted, 0.5),
      replyP95Ms: percentile(sorted, 0.95),
      answeredTotal: this.answered,
      deadTotal: this.dead,
      errorsTotal: { ...this.errors },
    };
  }

  private trim(now: number): void {
    for (const list of [this.answeredAt, this.erroredAt]) {
      while (list.length > 0 && list[0]! <= now - MINUTE_MS) list.shift();
    }
  }
}

/** The nearest-rank percentile of sorted values, or null when there are none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
