import { cachedShare, shareText } from '../../src/shared/cached-share';
import { cut } from '../../src/shared/cut';
import { parseJsonOr } from '../../src/shared/parse-json';
import { seconds } from '../../src/shared/seconds';

// The small text helpers the worker, the agent, the supervisor and the CLI share.

describe('shared helpers', () => {
  it('cuts text to its length with an ellipsis, never between the halves of a surrogate pair', () => {
    expect(cut('short', 10)).toBe('short');
    expect(cut('abcdefgh', 5)).toBe('abcd…');
    expect(cut('abc😀def', 5)).toBe('abc…');
    expect(cut('abc', 0)).toBe('…');
  });

  it('parses JSON, or gives the fallback for null, undefined and text that is not JSON', () => {
    expect(parseJsonOr('{"a":1}', undefined)).toEqual({ a: 1 });
    expect(parseJsonOr('not json', 'fallback')).toBe('fallback');
    expect(parseJsonOr(null, null)).toBeNull();
    expect(parseJsonOr(undefined, 0)).toBe(0);
  });

  it('writes durations in whole seconds, tenths under 10 s when precise, minutes from 2 min', () => {
    expect(seconds(0)).toBe('0 s');
    expect(seconds(1400)).toBe('1 s');
    expect(seconds(1400, true)).toBe('1.4 s');
    expect(seconds(300, true)).toBe('0.3 s');
    expect(seconds(2000, true)).toBe('2 s');
    expect(seconds(9960, true)).toBe('10 s');
    expect(seconds(119_400)).toBe('119 s');
    expect(seconds(125_000)).toBe('2 min 5 s');
    expect(seconds(300_000)).toBe('5 min');
    expect(seconds(-5)).toBe('0 s');
  });

  it('gives the cached share of prompt tokens as a percentage, and a dash when there were none', () => {
    expect(cachedShare({ promptTokens: 1000, cachedTokens: 870 })).toBe(0.87);
    expect(shareText(cachedShare({ promptTokens: 1000, cachedTokens: 870 }))).toBe('87%');
    expect(shareText(cachedShare({ promptTokens: 3, cachedTokens: 0 }))).toBe('0%');
    expect(cachedShare({ promptTokens: 0, cachedTokens: 0 })).toBeNull();
    expect(shareText(null)).toBe('—');
  });
});
