// What model calls cost: a price table per million tokens, overridable with OPENAI_PRICES
// (`gpt-4o-mini=0.15/0.60,my-model=1/2/0.5`: input/output[/cached input], USD per 1M tokens).

/** USD per million tokens. `cached` is the price of cached input tokens. */
export interface Price {
  readonly input: number;
  readonly output: number;
  readonly cached: number;
}

/** Published list prices (USD per 1M tokens) of common models; the operator's table wins. */
export const DEFAULT_PRICES: Readonly<Record<string, Price>> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6, cached: 0.075 },
  'gpt-4o': { input: 2.5, output: 10, cached: 1.25 },
  'gpt-4.1': { input: 2, output: 8, cached: 0.5 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cached: 0.1 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, cached: 0.025 },
  'o4-mini': { input: 1.1, output: 4.4, cached: 0.275 },
  'gpt-5': { input: 1.25, output: 10, cached: 0.125 },
  'gpt-5-mini': { input: 0.25, output: 2, cached: 0.025 },
  'gpt-5-nano': { input: 0.05, output: 0.4, cached: 0.005 },
};

/**
 * Parses OPENAI_PRICES; returns the table or a sentence saying what is wrong. `in/out` prices
 * cached input like other input; `in/out/cached` names its price.
 */
export function parsePrices(value: string): Record<string, Price> | string {
  const table: Record<string, Price> = {};
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const match = /^([^=\s]+)=([0-9.]+)\/([0-9.]+)(?:\/([0-9.]+))?$/.exec(entry);
    const numbers = match
      ? [match[2], match[3], match[4]].map((n) => (n === undefined ? undefined : Number(n)))
      : [];
    if (!match || numbers.some((n) => n !== undefined && !Number.isFinite(n))) {
      return `"${entry}" is not model=input/output (USD per million tokens), like gpt-4o-mini=0.15/0.60`;
    }
    const [input, output, cached] = numbers as [number, number, number | undefined];
    table[match[1]!] = { input, output, cached: cached ?? input };
  }
  return table;
}

/**
 * The price of a model as the API names it: an exact entry, else the longest entry the name
 * starts with followed by `-` (`gpt-4o-mini-2024-07-18` is priced as `gpt-4o-mini`).
 */
export function priceOf(table: Readonly<Record<string, Price>>, model: string): Price | undefined {
  if (table[model]) return table[model];
  let best: string | undefined;
  for (const name of Object.keys(table)) {
    if (model.startsWith(`${name}-`) && (best === undefined || name.length > best.length)) best = name;
  }
  return best === undefined ? undefined : table[best];
}

/** Tokens of some answers. */
export interface TokenCounts {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens: number;
}

/** USD for these tokens at this price, or null when the model has no price. */
export function costUsd(price: Price | undefined, tokens: TokenCounts): number | null {
  if (!price) return null;
  const uncached = Math.max(0, tokens.promptTokens - tokens.cachedTokens);
  return (
    (uncached * price.input + tokens.cachedTokens * price.cached + tokens.completionTokens * price.output) /
    1e6
  );
}
