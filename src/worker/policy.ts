// Decisions the worker's configuration implies, kept pure so every part asks the same question
// the same way.
import type { WorkerConfig } from '../shared/config';
import type { RetryPolicy } from '../queue/policy';
import type { Lane } from '../queue/row';

// Commands are quick (a few statements and one send), so a few loops keep one chat's slow send
// (a flood wait) from holding the others' commands.
const CONTROL_CONCURRENCY = 2;

/** The scheduler's loops per lane: answers as WORKER_CONCURRENCY says, commands a fixed few. */
export function laneLoops(config: WorkerConfig): { readonly lane: Lane; readonly concurrency: number }[] {
  return [
    { lane: 'answer', concurrency: config.worker.concurrency },
    { lane: 'control', concurrency: CONTROL_CONCURRENCY },
  ];
}

/** The retry policy the configuration asks for. */
export function retryPolicy(config: WorkerConfig): RetryPolicy {
  return {
    maxAttempts: config.worker.maxAttempts,
    baseSeconds: config.worker.retryBaseSeconds,
    maxSeconds: config.worker.retryMaxSeconds,
  };
}

/**
 * How many times a message may kill the worker before it is dead: `WORKER_MAX_ATTEMPTS`, but
 * fewer than the supervisor's crash-loop threshold, or one poison message would make the
 * supervisor halt a good revision (or roll back a sound release) instead of the message dying.
 */
export function crashAttemptLimit(config: WorkerConfig): number {
  return Math.max(1, Math.min(config.worker.maxAttempts, config.worker.crashLoopRestarts - 1));
}
