// Errors classified at the edges (Telegram, OpenAI). The class decides the item's fate:
// transient → retried later, permanent → dead at once, fatal → the worker stops (exit 78),
// paused → processing waits without burning attempts (the operator must fix a credential).

export type ErrorClass = 'transient' | 'permanent' | 'fatal' | 'paused';

/** The service that failed: one of the two remotes, or `worker` for a failure of our own. */
export type EdgeService = 'telegram' | 'openai' | 'worker';

/** A failure of a remote service, with what the queue needs to decide. Never carries a secret. */
export class EdgeError extends Error {
  constructor(
    readonly errorClass: ErrorClass,
    /** `telegram`, `openai`, or `worker` for a failure of our own (database, a bug). */
    readonly service: EdgeService,
    /** The remote's code (HTTP status, Telegram error_code, OpenAI error code) or ours. */
    readonly code: string,
    message: string,
    /** How long the remote asked us to wait, in ms. */
    readonly retryAfterMs?: number,
    /**
     * The remote's own words about the failure, redacted and whole, when it gave any: what the
     * person is told when their message cannot be answered because of it.
     */
    readonly said?: string,
  ) {
    super(message);
    this.name = 'EdgeError';
  }
}

/** The model refused the request as too long: the run compacts its session and asks once more. */
export class ContextTooLongError extends EdgeError {
  /** What the agent loop looks for (`isContextTooLong`). */
  readonly contextTooLong = true;

  constructor(message: string, said?: string) {
    super('permanent', 'openai', 'context_length_exceeded', message, undefined, said);
    this.name = 'ContextTooLongError';
  }
}

/**
 * The error and its causes, outermost first ("...: fetch failed: connect ECONNREFUSED
 * 127.0.0.1:9"): the innermost one tells the operator what to fix.
 */
export function causeChain(err: Error): string {
  const parts = [err.message];
  let cause = (err as { cause?: unknown }).cause;
  // duck-typed, not `instanceof Error`: a cause made in another realm (undici's, a vm's) counts too
  for (let depth = 0; isErrorLike(cause) && depth < 4; depth++) {
    parts.push(cause.message);
    cause = (cause as { cause?: unknown }).cause;
  }
  return parts.join(': ');
}

function isErrorLike(value: unknown): value is { message: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}
