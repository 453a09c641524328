// Why work in flight was aborted. There are two reasons, and they decide different fates: the
// person's `/stop` ends the work for good (its item is skipped, its run cancelled), while a
// stopping worker only interrupts it (its item goes back uncounted, its run resumes on the next
// start). Both are values of one type, so whoever holds the signal can tell them apart; they are
// errors so that what rejects with a signal's reason (fetch, a spawned command) says why.

/** Which of the two reasons. */
export type AbortKind = 'stopped-by-user' | 'worker-stopping';

const MESSAGES: Readonly<Record<AbortKind, string>> = {
  'stopped-by-user': 'stopped by the user',
  'worker-stopping': 'the worker is stopping',
};

/** The reason work in flight is aborted with: `/stop` or a stopping worker (SIGINT, SIGTERM). */
export class AbortReason extends Error {
  constructor(readonly kind: AbortKind) {
    super(MESSAGES[kind]);
    this.name = 'AbortReason';
  }
}

/** The sentence an item or run ended by `kind` records as its reason. */
export function abortText(kind: AbortKind): string {
  return MESSAGES[kind];
}

/** Which reason the signal was aborted with; undefined when not aborted, or not by one of these. */
export function abortKindOf(signal: AbortSignal): AbortKind | undefined {
  return signal.aborted && signal.reason instanceof AbortReason ? signal.reason.kind : undefined;
}

/** True when the signal was aborted by a stopping worker rather than by the person. */
export function isWorkerStopping(signal: AbortSignal): boolean {
  return abortKindOf(signal) === 'worker-stopping';
}
