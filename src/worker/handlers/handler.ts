import type { InboxRow } from '../../queue/row';
import type { EdgeError } from '../errors';

/**
 * What a handler made of an item; the scheduler settles it. A handler may also throw: a thrown
 * error is a failed attempt, decided like `retry` with that error.
 */
export type Outcome =
  /** Finished; with `reply`, the model's answer goes to history beside the person's message. */
  | { readonly kind: 'done'; readonly reply?: string }
  /** Not processed by design (chat not allowed, unsupported, stopped by the user, ...). */
  | { readonly kind: 'skipped'; readonly reason: string }
  /** Failed this attempt: retried later, or dead when out of attempts or permanent. */
  | { readonly kind: 'retry'; readonly error: EdgeError }
  /** Failed for good: dead at once. */
  | { readonly kind: 'dead'; readonly error: EdgeError }
  /**
   * Waits for an outside event (a person's decision, a timer): holds no loop, no attempt. Back to
   * work at `until` (ms) by itself, or earlier when its event unparks it; null: only its event.
   */
  | { readonly kind: 'parked'; readonly until: number | null; readonly reason: string };

/** Does the work of one kind of item. */
export interface Handler {
  /** `signal` aborts when the worker stops past its grace, or the person stops this item. */
  handle(item: InboxRow, signal: AbortSignal): Promise<Outcome>;
}
