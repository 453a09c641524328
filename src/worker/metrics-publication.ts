// Where the worker's figures are shown: PM2's custom metrics always, and a Prometheus `/metrics`
// endpoint when AUTONOUS_METRICS_PORT is set.

import type { Logger } from '../shared/log';
import type { FigureSources } from './metrics/figures';
import { publishPm2Metrics } from './metrics/pm2-metrics';
import { startPrometheus } from './metrics/prometheus';

/** The figures as published. */
export interface MetricsPublication {
  /** The port of the `/metrics` endpoint, when it is on. */
  readonly port?: number;
  /** Unpublishes from PM2 and closes the endpoint. */
  stop(): Promise<void>;
}

/** Publishes the figures; the endpoint only when `metricsPort` is above 0. */
export async function publishMetrics(
  sources: FigureSources,
  metricsPort: number,
  log: Logger,
): Promise<MetricsPublication> {
  const unpublish = publishPm2Metrics(sources);
  const server = metricsPort > 0 ? await startPrometheus(sources, metricsPort, log) : undefined;
  return {
    port: server?.port,
    stop: async () => {
      unpublish();
      await server?.close();
    },
  };
}
