import type { Handler, Outcome } from './handler';

/**
 * The self-test item's handler: nothing to do, so done. Being claimed, handled and settled by the
 * scheduler is the test; no Telegram and no model, so it proves the worker without either.
 */
export const selftestHandler: Handler = {
  handle: async (): Promise<Outcome> => ({ kind: 'done' }),
};
