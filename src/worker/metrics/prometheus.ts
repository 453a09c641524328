import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../shared/log';
import type { EdgeService } from '../errors';
import type { FigureSources } from './figures';

/** A running `/metrics` endpoint. */
export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

// Reply-time buckets (seconds): from an instant answer to a long model call
const REPLY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * The exported `service` label of each service whose failures are counted. The model is named
 * by its role, not by the vendor of its API: any OpenAI-compatible server can stand behind it.
 */
export const ERROR_SERVICE_LABELS: Readonly<Record<EdgeService, string>> = {
  telegram: 'telegram',
  openai: 'model',
  worker: 'worker',
};

/**
 * Serves the figures in Prometheus text format on 127.0.0.1 at `/metrics`, with prom-client
 * (loaded only when the endpoint is on). Never on another address: the figures are the
 * operator's.
 */
export async function startPrometheus(
  sources: FigureSources,
  port: number,
  log: Logger,
): Promise<MetricsServer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const client = require('prom-client') as typeof import('prom-client');
  const registry = new client.Registry();
  new client.Gauge({
    name: 'autonous_queue_depth',
    help: 'Inbox items waiting to be worked on (queued or failed).',
    registers: [registry],
    collect() {
      this.set(sources.queue().depth);
    },
  });
  new client.Gauge({
    name: 'autonous_in_flight',
    help: 'Answers being worked on now.',
    registers: [registry],
    collect() {
      this.set(sources.inFlight());
    },
  });
  new client.Gauge({
    name: 'autonous_poll_failing_seconds',
    help: 'How long polling Telegram has been failing (0 when it works).',
    registers: [registry],
    collect() {
      this.set(sources.pollFailingSeconds());
    },
  });
  new client.Counter({
    name: 'autonous_answered_total',
    help: 'Answers sent since the worker started.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sources.recorder.snapshot(sources.now()).answeredTotal);
    },
  });
  new client.Counter({
    name: 'autonous_dead_total',
    help: 'Items that became dead letters since the worker started.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sources.recorder.snapshot(sources.now()).deadTotal);
    },
  });
  new client.Counter({
    name: 'autonous_errors_total',
    help: 'Failed attempts since the worker started, by the service that failed.',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.reset();
      const totals = sources.recorder.snapshot(sources.now()).errorsTotal;
      // every service from the start, at 0 until it fails: a rate over a series that does not
      // exist yet is "no data", not 0, and absent() alerts would fire on a healthy worker
      for (const [service, label] of Object.entries(ERROR_SERVICE_LABELS)) {
        this.inc({ service: label }, totals[service as EdgeService] ?? 0);
      }
    },
  });
  const replies = new client.Histogram({
    name: 'autonous_reply_seconds',
    help: 'From receiving a message to sending the last part of its answer.',
    buckets: REPLY_BUCKETS,
    registers: [registry],
  });
  sources.recorder.onReply = (seconds) => replies.observe(seconds);

  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the figures are at /metrics\n');
      return;
    }
    registry
      .metrics()
      .then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body))
      .catch((err: unknown) => {
        log.warn('could not render /metrics', { error: String(err) });
        res.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
