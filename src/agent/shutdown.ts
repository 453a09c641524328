// A stopping worker aborts a run with this reason; `/stop` aborts with any other. The difference
// decides the run's fate: a stop by the person cancels it, a stopping worker leaves it to resume.

/** The abort reason of a worker that is stopping (SIGINT, SIGTERM): the run is resumed later. */
export class WorkerStopping extends Error {
  constructor() {
    super('the worker is stopping');
    this.name = 'WorkerStopping';
  }
}

/** True when the signal was aborted by a stopping worker rather than by the person. */
export function isWorkerStopping(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason instanceof WorkerStopping;
}
