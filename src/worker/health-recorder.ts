import { describeError, type Logger } from '../shared/log';
import { nextHealth, parseHealth, type EdgeHealth } from '../shared/health';
import { redact } from '../shared/redact';
import type { Store } from '../queue/store';

/** Keeps one edge's health record in kv, writing only when it changed enough to matter. */
export class HealthRecorder {
  private health: EdgeHealth;

  constructor(
    private readonly store: Store,
    private readonly key: string,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {
    this.health = parseHealth(store.getKv(key));
  }

  /** Records one outcome of the edge. */
  record(result: { readonly ok: true } | { readonly ok: false; readonly error: string }): void {
    const now = this.now();
    const next = nextHealth(
      this.health,
      result.ok ? result : { ok: false, error: redact(result.error) },
      now,
    );
    this.health = next.health;
    if (!next.write) return;
    try {
      this.store.setKv(this.key, JSON.stringify(this.health), now);
    } catch (err) {
      // the record is advisory: a busy database must not stop polling or answering
      this.log.warn('could not record health', { key: this.key, error: describeError(err) });
    }
  }

  /** Seconds the edge has been failing (0 when it works). */
  failingSeconds(): number {
    return this.health.failingSince === null ? 0 : Math.round((this.now() - this.health.failingSince) / 1000);
  }
}
