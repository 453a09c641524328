import { abortKindOf, abortText } from '../../agent/abort-reasons';
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
  | { readonly kind: 'parked'; readonly until: number | null; readonly reason: string }
  /**
   * Put back without counting the attempt: the worker is stopping, which is not the item's
   * fault. Taken again on the next start (a run resumes from its journal).
   */
  | { readonly kind: 'released' };

/** Does the work of one kind of item. */
export interface Handler {
  /**
   * `signal` aborts when the worker stops past its grace, or the person stops this item; its
   * reason (`abortKindOf`) says which, and `abortedOutcome` what that makes of the item.
   */
  handle(item: InboxRow, signal: AbortSignal): Promise<Outcome>;
}

/**
 * The fate of an item whose signal was aborted: `released` when the worker is stopping, `skipped`
 * when its person stopped it; undefined when the signal was not aborted by either.
 */
export function abortedOutcome(signal: AbortSignal): Outcome | undefined {
  switch (abortKindOf(signal)) {
    case 'worker-stopping':
      return { kind: 'released' };
    case 'stopped-by-user':
      return { kind: 'skipped', reason: abortText('stopped-by-user') };
    case undefined:
      return undefined;
  }
}

/**
 * Runs a handler's work and returns its outcome; what the work throws once `signal` was aborted
 * (a send or a model call rejects with the signal's reason) becomes the abort's outcome instead.
 * Any other error is thrown on: a failed attempt.
 */
export async function settlingAborts(signal: AbortSignal, work: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await work();
  } catch (err) {
    const outcome = abortedOutcome(signal);
    if (outcome === undefined) throw err;
    return outcome;
  }
}
