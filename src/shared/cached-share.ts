// How much of the prompt the provider served from its cache: what a session's stable prefix buys
// (cached input costs a fraction of the price), shown by `/usage` and `autonous usage`. Pure.
import type { TokenCounts } from './prices';

/** cached ÷ prompt tokens, from 0 to 1; null when there were no prompt tokens to share. */
export function cachedShare(tokens: Pick<TokenCounts, 'promptTokens' | 'cachedTokens'>): number | null {
  if (tokens.promptTokens <= 0) return null;
  return Math.min(1, tokens.cachedTokens / tokens.promptTokens);
}

/** A share as a person reads it: `87%`, or `—` when there is none. */
export function shareText(share: number | null): string {
  return share === null ? '—' : `${Math.round(share * 100)}%`;
}
