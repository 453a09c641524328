import type { FigureSources } from './figures';

/**
 * Publishes the figures as PM2 custom metrics (`pm2 show autonous-worker`, `pm2 monit`) with
 * tx2, PM2's own small client: it sends them over the IPC channel PM2 forked us with, once a
 * second, and hooks nothing else. Outside PM2 (no IPC channel) it does nothing.
 */
export function publishPm2Metrics(sources: FigureSources): void {
  if (typeof process.send !== 'function') return;
  // loaded only under PM2: tx2 starts its reporting interval when required
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tx2 = require('tx2') as typeof import('tx2');
  // one queue read a second however many metrics use it
  let cached = { at: 0, figures: { depth: 0, dead: 0 } };
  const queue = (): { depth: number; dead: number } => {
    const now = sources.now();
    if (now - cached.at >= 900) cached = { at: now, figures: { ...sources.queue() } };
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
}
