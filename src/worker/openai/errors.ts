// OpenAI failures classified at the edge: the class decides the item's fate (see ../errors.ts).

import OpenAI from 'openai';
import { redact } from '../../shared/redact';
import { causeChain, ContextTooLongError, EdgeError } from '../errors';

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Maps any failure of the chat-completions call to transient / permanent / paused. */
export function classifyOpenAIError(err: unknown): EdgeError {
  if (err instanceof EdgeError) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return new EdgeError(
      'transient',
      'openai',
      'timeout',
      'The model did not answer within OPENAI_TIMEOUT_SECONDS.',
    );
  }
  if (err instanceof OpenAI.APIUserAbortError) {
    return new EdgeError(
      'transient',
      'openai',
      'aborted',
      'The model call was cancelled (the worker is stopping).',
    );
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return new EdgeError(
      'transient',
      'openai',
      'network',
      redact(`Cannot reach the model API: ${causeChain(err)}`),
    );
  }
  if (err instanceof OpenAI.APIError && err.status === undefined) {
    // An error event inside a stream that had already started (the HTTP status was 200): the
    // server broke down mid-answer, so asking again later is the remedy, unless the context is too long.
    const code = err.code ?? err.type ?? 'stream_error';
    const what = redact(`The model's stream failed${err.code ? ` (${err.code})` : ''}: ${err.message}`);
    if (code === 'context_length_exceeded') return new ContextTooLongError(what);
    return new EdgeError('transient', 'openai', code, what);
  }
  if (err instanceof OpenAI.APIError) {
    const status = err.status ?? 0;
    const code = err.code ?? String(status);
    const what = redact(`OpenAI answered ${status}${err.code ? ` ${err.code}` : ''}: ${err.message}`);
    if (code === 'context_length_exceeded') return new ContextTooLongError(what);
    if (status === 404 || code === 'model_not_found') {
      // A wrong model name or URL is configuration: dead-lettering every message would not fix it
      return new EdgeError(
        'paused',
        'openai',
        code,
        `${what} — processing is paused until OPENAI_MODEL or OPENAI_CHAT_COMPLETIONS_URL is fixed.`,
      );
    }
    if (status === 401 || status === 403 || code === 'insufficient_quota') {
      return new EdgeError(
        'paused',
        'openai',
        code,
        `${what} — processing is paused until OPENAI_API_KEY (or the account's quota) is fixed.`,
      );
    }
    if (status === 429 || status === 408 || status === 409 || status >= 500) {
      return new EdgeError('transient', 'openai', String(status), what, retryAfterMs(err.headers));
    }
    return new EdgeError('permanent', 'openai', code, what);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new EdgeError('transient', 'openai', 'unknown', redact(`The model call failed: ${message}`));
}
