import { startFakeOpenAI, type ChatMessage, type FakeOpenAI } from '../helpers/fake-openai';
import { cachedFor, promptText, tokenCount } from '../helpers/prompt-cache';

// The fake's prompt cache holds the benchmarks to OpenAI's rule: a request is cached up to the
// prefix it shares with an earlier request of its cache key, from 1,024 tokens, in 128-token steps.

interface Usage {
  prompt_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

let fake: FakeOpenAI | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function usageOf(body: Record<string, unknown>): Promise<Usage> {
  const res = await fetch(fake!.chatCompletionsUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { usage: Usage }).usage;
}

/**
 * A user message that makes `[user(text)]` a prompt whose text up to the message's closing brace
 * is exactly `tokens` tokens: a request that adds a message after it shares those tokens.
 */
function userOf(tokens: number, fill = 'a'): ChatMessage {
  const overhead = promptText({ model: '', messages: [{ role: 'user', content: '' }] }).length - 1;
  return { role: 'user', content: fill.repeat(tokens * 4 - overhead) };
}

const next: ChatMessage = { role: 'assistant', content: 'and then some more' };

describe('the fake OpenAI prompt cache', () => {
  it('floors a shared prefix to 1,024 tokens and then to steps of 128', () => {
    expect([0, 1023, 1024, 1151, 1152, 1300, 5000].map(cachedFor)).toEqual([
      0, 0, 1024, 1024, 1152, 1280, 4992,
    ]);
  });

  it('caches nothing of a request under 1,024 tokens, even sent twice', async () => {
    fake = await startFakeOpenAI({ promptCache: true });
    const messages = [userOf(1000)];
    const first = await usageOf({ messages });
    const again = await usageOf({ messages });
    expect(first.prompt_tokens).toBe(1001);
    expect([first.prompt_tokens_details.cached_tokens, again.prompt_tokens_details.cached_tokens]).toEqual([
      0, 0,
    ]);
  });

  it('caches the prefix a request shares with an earlier one, floored to 128-token steps', async () => {
    fake = await startFakeOpenAI({ promptCache: true });
    const first = userOf(1300);
    expect((await usageOf({ messages: [first] })).prompt_tokens_details.cached_tokens).toBe(0);
    const longer = await usageOf({ messages: [first, next] });
    expect(longer.prompt_tokens).toBe(
      tokenCount(promptText({ model: '', messages: [first, next] as unknown[] })),
    );
    expect(longer.prompt_tokens_details.cached_tokens).toBe(1280);
    // the longest match with any earlier request counts: the second one now, whole
    const third = await usageOf({ messages: [first, next, next] });
    expect(third.prompt_tokens_details.cached_tokens).toBe(cachedFor(longer.prompt_tokens - 1));
    // a change at the start shares nothing
    const changed = await usageOf({ messages: [userOf(1300, 'b'), next] });
    expect(changed.prompt_tokens_details.cached_tokens).toBe(0);
  });

  it('keeps a cache per prompt_cache_key, and the tools are part of the prefix', async () => {
    fake = await startFakeOpenAI({ promptCache: true });
    const messages = [userOf(2000)];
    const tools = [{ type: 'function', function: { name: 'read', parameters: { type: 'object' } } }];
    await usageOf({ messages, tools, prompt_cache_key: 'chat-1' });
    const otherKey = await usageOf({ messages, tools, prompt_cache_key: 'chat-2' });
    expect(otherKey.prompt_tokens_details.cached_tokens).toBe(0);
    const noKey = await usageOf({ messages, tools });
    expect(noKey.prompt_tokens_details.cached_tokens).toBe(0);
    const sameKey = await usageOf({ messages, tools, prompt_cache_key: 'chat-1' });
    expect(sameKey.prompt_tokens_details.cached_tokens).toBe(cachedFor(sameKey.prompt_tokens));
    const otherTools = await usageOf({ messages, tools: [], prompt_cache_key: 'chat-1' });
    expect(otherTools.prompt_tokens_details.cached_tokens).toBe(0);
  });

  it("reports a scripted reply's usage as given", async () => {
    fake = await startFakeOpenAI({
      promptCache: true,
      reply: () => ({ content: 'ok', usage: { promptTokens: 9, cachedTokens: 7 } }),
    });
    const messages = [userOf(2000)];
    await usageOf({ messages });
    const usage = await usageOf({ messages });
    expect([usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens]).toEqual([9, 7]);
  });

  it('reports nothing cached when the option is off', async () => {
    fake = await startFakeOpenAI();
    const messages = [userOf(2000)];
    await usageOf({ messages });
    const usage = await usageOf({ messages });
    expect(usage.prompt_tokens_details.cached_tokens).toBe(0);
  });
});
