// How settled items become figures: answers and errors for the metrics, the model's health record,
// and the count of answered messages that `onCompleted` reports.

import type { InboxRow } from '../queue/row';
import type { HealthRecorder } from './health-recorder';
import type { Outcome } from './handlers/handler';
import type { MetricsRecorder } from './metrics/recorder';

/** What turning outcomes into figures needs. */
export interface OutcomeFiguresDeps {
  readonly recorder: Pick<MetricsRecorder, 'answer' | 'error' | 'deadLetter'>;
  readonly modelHealth: Pick<HealthRecorder, 'record'>;
  readonly now: () => number;
  /** Called after every answered message, with how many have been answered since start. */
  readonly onCompleted?: (count: number) => void;
}

/** Records the scheduler's outcomes (its `onSettled` and `onDead`) as metrics and health. */
export class OutcomeFigures {
  private completed = 0;

  constructor(private readonly deps: OutcomeFiguresDeps) {}

  /** One settled item: an answer counts its reply time, a failure its service's error. */
  settled(item: InboxRow, outcome: Outcome): void {
    const { recorder, modelHealth } = this.deps;
    const at = this.deps.now();
    if (outcome.kind === 'done' && outcome.reply !== undefined) {
      recorder.answer(at, at - item.receivedAt);
      modelHealth.record({ ok: true });
      this.deps.onCompleted?.(++this.completed);
    } else if (outcome.kind === 'retry' || outcome.kind === 'dead') {
      recorder.error(at, outcome.error.service);
      if (outcome.error.service === 'openai') modelHealth.record({ ok: false, error: outcome.error.message });
    }
  }

  /** One item became dead after a failure. */
  dead(): void {
    this.deps.recorder.deadLetter();
  }
}
