// The loops that take work: the scheduler's and the approval sweeper's. They start together once
// ingress stored what Telegram held (so a recovered item is claimed after it), and stop together.

/** Something started once and stopped within a grace. */
interface Loop {
  start(): void;
  stop(graceMs: number): Promise<void>;
}

/** The scheduler and the sweeper, started and stopped as one. */
export class WorkLoops {
  private started = false;

  constructor(private readonly loops: readonly Loop[]) {}

  /** Starts the loops when `ready` resolves, unless the worker is stopping by then. */
  startWhen(ready: Promise<void>, signal: AbortSignal): void {
    void ready.then(() => {
      if (signal.aborted) return;
      this.started = true;
      for (const loop of this.loops) loop.start();
    });
  }

  /** Stops the loops (if they started), the work in flight given `graceMs` to finish. */
  async stop(graceMs: number): Promise<void> {
    if (this.started) await Promise.all(this.loops.map((loop) => loop.stop(graceMs)));
  }
}
