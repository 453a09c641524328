import type { MetricsRecorder } from './recorder';

/** Where the live figures come from: the recorder, the queue, the scheduler, ingress health. */
export interface FigureSources {
  readonly recorder: MetricsRecorder;
  readonly now: () => number;
  /** Waiting and dead items in the inbox. */
  readonly queue: () => { readonly depth: number; readonly dead: number };
  readonly inFlight: () => number;
  /** Seconds polling has been failing (0 when it works). */
  readonly pollFailingSeconds: () => number;
}
