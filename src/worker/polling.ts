// Ingress as the worker runs it: long polling configured from the environment, whose fatal
// failure (a token Telegram refuses) stops the worker.

import type { WorkerConfig } from '../shared/config';
import { EdgeError } from './errors';
import { Ingress, type IngressDeps } from './ingress';
import { FatalWorkerError } from './scheduler';

/** Polling under way. */
export interface Polling {
  /** Resolves after the first poll stored what Telegram held (then the scheduler may claim). */
  readonly ready: Promise<void>;
  /** Resolves at the first poll that Telegram answered and whose updates were stored. */
  readonly polled: Promise<void>;
  /** Settles when polling ends: rejects with `FatalWorkerError` when Telegram refused for good. */
  readonly done: Promise<void>;
}

/** Starts polling Telegram into the inbox until `signal` aborts. */
export function startPolling(
  config: WorkerConfig,
  deps: IngressDeps,
  keepText: (chatId: number) => boolean,
  signal: AbortSignal,
): Polling {
  let answered!: () => void;
  const polled = new Promise<void>((resolve) => (answered = resolve));
  const onPoll: IngressDeps['onPoll'] = (result) => {
    if (result.ok) answered();
    deps.onPoll?.(result);
  };
  const ingress = new Ingress(
    {
      timeoutSeconds: config.telegram.timeoutSeconds,
      sleepSeconds: config.telegram.sleepSeconds,
      dropPending: config.telegram.dropPending,
      pendingWindowSeconds: config.telegram.pendingWindowSeconds,
      pendingMaxMessages: config.telegram.pendingMaxMessages,
      keepText,
    },
    { ...deps, onPoll },
  );
  const done = ingress.run(signal).catch((err: unknown) => {
    if (err instanceof EdgeError && err.errorClass === 'fatal') throw new FatalWorkerError(err);
    throw err;
  });
  return { ready: ingress.ready, polled, done };
}
