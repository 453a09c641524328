// How many tokens a text costs, estimated without a tokenizer (see estimateTokens).

// Pieces as a BPE tokenizer's pre-split sees them: a CJK/Thai character, a word, a digit run,
// whitespace, a punctuation run, anything else (an emoji).
const PIECE =
  /(\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}|\p{Script=Hangul}|\p{Script=Thai})|(\p{L}[\p{L}\p{M}]*)|(\p{N}+)|(\s+)|([\p{P}\p{S}]+)|(.)/gsu;
const ASCII_WORD = /^[a-zA-Z]+$/;
const CASE_CHANGE = /\p{Ll}\p{Lu}/gu;

/**
 * About how many tokens a text costs, without a tokenizer: a word is a token per 6 letters (4 in
 * other alphabets) plus one per case change, digits go by threes, a CJK character is one, a
 * punctuation run one per two characters, an emoji two. On English prose and code it reads 1.1 to
 * 1.25× what o200k (gpt-4o's encoding) counts, on Russian and German 1.1 to 1.25×, on Chinese,
 * Japanese and emoji 1.4 to 1.8×, on digits and base64 0.8× (test/unit/token-estimate.test.ts
 * holds it to that). Why not the exact count: gpt-tokenizer's 200k-entry table holds about
 * 55 MB for the life of the worker (a third of its memory), and the budget (12k tokens by
 * default) is a cost knob far under the model's window (128k for gpt-4o-mini), so a fifth off
 * either way never overflows it; a context the model still refuses is retried at a quarter.
 */
export function estimateTokens(text: string): number {
  let tokens = 0;
  for (const m of text.matchAll(PIECE)) {
    if (m[1] !== undefined) tokens += 1;
    else if (m[2] !== undefined) {
      const word = m[2];
      tokens +=
        Math.ceil(word.length / (ASCII_WORD.test(word) ? 6 : 4)) + (word.match(CASE_CHANGE)?.length ?? 0);
    } else if (m[3] !== undefined) tokens += Math.ceil(m[3].length / 3);
    else if (m[4] !== undefined) tokens += m[4].length > 1 ? 1 : 0;
    else if (m[5] !== undefined) {
      const run = m[5];
      tokens += Math.ceil(run.length / 2);
      // symbols outside the BMP (emoji) are several bytes, so several tokens
      for (const c of run) if (c.length > 1) tokens += 2;
    } else tokens += 1;
  }
  return tokens;
}
