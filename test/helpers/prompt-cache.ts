/**
 * OpenAI's prompt caching as a model for the fake server: a request is cached up to the longest
 * prefix it shares with an earlier request of the same cache key, counted only from 1,024 tokens
 * on and in steps of 128 tokens (1024, 1152, 1280, …), tools included. The fake's tokens are not
 * the model's: four characters of the request's canonical text make one token, which keeps the
 * count deterministic and a shared prefix of text a shared prefix of tokens.
 */
import crypto from 'node:crypto';

/** A shorter common prefix is not cached at all. */
export const CACHE_MIN_TOKENS = 1024;
/** Cached prefixes grow in steps of this many tokens. */
export const CACHE_STEP_TOKENS = 128;
/** Characters per token of the fake tokenizer. */
export const CHARS_PER_TOKEN = 4;

/** What the cache needs of a request; the rest of the body (stream, max_tokens, …) is not prompt. */
export interface CacheableRequest {
  model: string;
  messages: readonly unknown[];
  tools?: unknown;
  prompt_cache_key?: unknown;
}

/** The figures the API reports for one request. */
export interface PromptCount {
  promptTokens: number;
  cachedTokens: number;
}

/**
 * The text a request is tokenized from: its tools, then its messages, each as JSON with the keys
 * sorted. Tools come first because OpenAI renders them ahead of the messages and caches both as
 * one prefix; sorted keys because the provider sees rendered messages, not the client's key order.
 */
export function promptText(req: CacheableRequest): string {
  return canonicalJson(req.tools ?? []) + canonicalJson(req.messages);
}

/** How many tokens `text` makes: a token every four characters, the last one possibly shorter. */
export function tokenCount(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** The cached tokens for a prefix of `common` tokens shared with an earlier request. */
export function cachedFor(common: number): number {
  if (common < CACHE_MIN_TOKENS) return 0;
  return CACHE_MIN_TOKENS + Math.floor((common - CACHE_MIN_TOKENS) / CACHE_STEP_TOKENS) * CACHE_STEP_TOKENS;
}

/** The requests seen so far, by cache key; `count` also remembers the request it counted. */
export interface PromptCache {
  count(req: CacheableRequest): PromptCount;
}

/**
 * An empty cache. A bucket is the request's model and `prompt_cache_key` (requests without a key
 * share the model's bucket), as OpenAI's caches are per model.
 *
 * Rather than every earlier request's tokens, a bucket keeps a hash of each prefix that ends on a
 * cacheable boundary (1,024 tokens, then every 128), each chained from the one before. The largest
 * boundary whose hash an earlier request left is exactly `cachedFor` of the longest common prefix
 * with any earlier request, found in one pass over the new request.
 */
export function createPromptCache(): PromptCache {
  const buckets = new Map<string, Set<string>>();
  return {
    count(req) {
      const text = promptText(req);
      const promptTokens = tokenCount(text);
      const key = `${req.model}\n${typeof req.prompt_cache_key === 'string' ? req.prompt_cache_key : ''}`;
      let seen = buckets.get(key);
      if (!seen) buckets.set(key, (seen = new Set()));
      const blockChars = CACHE_STEP_TOKENS * CHARS_PER_TOKEN;
      let chain = '';
      let cachedTokens = 0;
      let matching = true;
      for (let end = CACHE_STEP_TOKENS; end <= promptTokens; end += CACHE_STEP_TOKENS) {
        const start = (end - CACHE_STEP_TOKENS) * CHARS_PER_TOKEN;
        chain = crypto
          .createHash('sha1')
          .update(chain)
          .update(text.slice(start, start + blockChars))
          .digest('hex');
        if (end < CACHE_MIN_TOKENS) continue;
        // the chain makes prefixes nest: once one boundary is new, every later one is too
        if (matching && seen.has(chain)) cachedTokens = end;
        else matching = false;
        seen.add(chain);
      }
      return { promptTokens, cachedTokens };
    },
  };
}

/** JSON with every object's keys in sorted order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
