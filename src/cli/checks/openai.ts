import type { WorkerConfig } from '../../shared/config';
import { type CheckResult, fail, messageOf, ok, warn } from './check';

const NAME = 'openai';

/**
 * A minimal chat completion (one token), no retries, 10 s: the OpenAI check line. A model list
 * would be cheaper, but OpenAI-compatible servers (and the test fake) often serve only
 * `/chat/completions`, which is all the worker needs.
 */
export async function checkOpenAI(openai: WorkerConfig['openai'], timeoutMs = 10000): Promise<CheckResult> {
  const sdk = await import('openai');
  const client = new sdk.OpenAI({
    apiKey: openai.apiKey,
    baseURL: openai.baseUrl,
    maxRetries: 0,
    timeout: timeoutMs,
  });
  try {
    const completion = await client.chat.completions.create({
      model: openai.model,
      messages: [{ role: 'user', content: 'ping' }],
      max_tokens: 1,
    });
    return ok(NAME, `${completion.model || openai.model} answered via ${openai.chatCompletionsUrl}`);
  } catch (err) {
    if (err instanceof sdk.APIConnectionError) {
      return fail(
        NAME,
        `cannot reach ${openai.chatCompletionsUrl}: ${messageOf(err)}`,
        'Check the network, or OPENAI_CHAT_COMPLETIONS_URL.',
      );
    }
    if (err instanceof sdk.APIError) {
      const said = `${openai.chatCompletionsUrl} answered ${err.status ?? '?'}: ${messageOf(err)}`;
      switch (err.status) {
        case 401:
        case 403:
          return fail(NAME, said, 'Set OPENAI_API_KEY to a valid key of your OpenAI account.');
        case 404:
          return fail(
            NAME,
            said,
            'Check OPENAI_MODEL (a model your key may use) and OPENAI_CHAT_COMPLETIONS_URL.',
          );
        case 429:
          return warn(
            NAME,
            said,
            'Rate limited or out of quota: check the billing and limits of the account.',
          );
        default:
          return fail(
            NAME,
            said,
            'Try again later; if it persists, check OPENAI_CHAT_COMPLETIONS_URL and OPENAI_MODEL.',
          );
      }
    }
    return fail(
      NAME,
      `the call failed: ${messageOf(err)}`,
      'Check OPENAI_CHAT_COMPLETIONS_URL and OPENAI_MODEL.',
    );
  }
}
