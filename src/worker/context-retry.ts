// What an answer does when the model refuses its context as too long: our token estimate can fall
// short of the model's count, so the answer is tried once more with much less history.
import type { Logger } from '../shared/log';
import { ContextTooLongError } from './errors';

/** The budget of the one retry: a quarter of the configured one. */
export function retryBudget(budget: number): number {
  return Math.floor(budget / 4);
}

/**
 * Runs `attempt` with the full context budget; when the model finds that context too long, once
 * more with `retryBudget` of it. Any other failure, or a second refusal, is thrown.
 */
export async function withContextRetry<T>(
  deps: { readonly contextMaxTokens: number; readonly log: Logger },
  itemId: number,
  attempt: (budget: number) => Promise<T>,
): Promise<T> {
  const budget = deps.contextMaxTokens;
  try {
    return await attempt(budget);
  } catch (err) {
    if (!(err instanceof ContextTooLongError)) throw err;
    deps.log.warn('the model found the context too long; retrying with a quarter of the budget', {
      id: itemId,
    });
    return await attempt(retryBudget(budget));
  }
}
