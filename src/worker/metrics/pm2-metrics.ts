import type { FigureSources } from './figures';

/** The part of tx2 (PM2's custom-metrics client) used here; the package ships no types. */
interface Tx2 {
  metric(name: string, value: () => number | string): void;
}

/**
 * Publishes the figures as PM2 custom metrics (`pm2 show autonous-worker`, `pm2 monit`) with
 * tx2, PM2's own small client: it sends them over the IPC channel PM2 forked us with, once a
 * second, and hooks nothing else. Outside PM2 it does nothing. Returns the function that stops
 * reading the sources (the worker stopping closes the database they read).
 */
export function publishPm2Metrics(sources: FigureSources): () => void {
  // PM2 sets pm_id in the environment of the apps it forks (an IPC channel alone is not PM2)
  if (typeof process.send !== 'function' || process.env.pm_id === undefined) return () => undefined;
  let stopped = false;
  // loaded only under PM2: tx2 starts its reporting interval when required
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tx2 = require('tx2') as Tx2;
  // one queue read a second however many metrics use it
  let cached = { at: 0, figures: { depth: 0, dead: 0 } };
  const queue = (): { depth: number; dead: number } => {
    const now = sources.now();
    if (!stopped && now - cached.at >= 900) {
      try {
        cached = { at: now, figures: { ...sources.queue() } };
      } catch {
        // the database was busy: the last figures stand for one more second
      }
    }
    return cached.figures;
  };
  const snap = () => sources.recorder.snapshot(sources.now());
  tx2.metric('Queue depth', () => queue().depth);
  tx2.metric('In flight', () => sources.inFlight());
  tx2.metric('Answered/min', () => snap().answeredPerMinute);
  tx2.metric('Reply p50 ms', () => snap().replyP50Ms ?? 0);
  tx2.metric('Reply p95 ms', () => snap().replyP95Ms ?? 0);
  tx2.metric('Errors/min', () => snap().errorsPerMinute);
  tx2.metric('Dead', () => queue().dead);
  tx2.metric('Polling failing s', () => sources.pollFailingSeconds());
  return () => {
    stopped = true;
  };
}
