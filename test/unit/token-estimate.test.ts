import fs from 'node:fs';
import path from 'node:path';
import { countTokens } from 'gpt-tokenizer';
import { estimateTokens } from '../../src/shared/tokens';

// The worker budgets its context with an estimate instead of a tokenizer (see context.ts); this
// holds the estimate to o200k's real counts on the kinds of text a chat carries.

const root = path.resolve(__dirname, '..', '..');
const file = (name: string, chars = 20_000): string =>
  fs.readFileSync(path.join(root, name), 'utf8').slice(0, chars);

const samples: Record<string, string> = {
  'English prose': file('docs/security.md'),
  'TypeScript code': file('src/worker/scheduler.ts'),
  JSON: file('package-lock.json'),
  Russian:
    'Привет! Как дела? Я хотел бы узнать, сколько стоит доставка в Москву и можно ли оплатить картой при получении. Спасибо большое за помощь, буду ждать ответа.',
  German:
    'Guten Tag! Könnten Sie mir bitte sagen, wann der nächste Zug nach München fährt? Ich möchte eine Fahrkarte für morgen früh kaufen.',
  Chinese:
    '你好！请问明天北京的天气怎么样？我想去长城参观，但是不知道需要准备什么。谢谢你的帮助，祝你今天愉快。',
  Japanese:
    'こんにちは。明日の東京の天気はどうですか？週末に友達と一緒に富士山に行く予定です。よろしくお願いします。',
  emoji: 'ok 👍🎉🔥 thanks!! 😂😂 see you 🙌 great work 💯',
  'numbers and dates':
    'Order 12345 shipped 2026-12-01 10:45:00, total 3,141.59 EUR, call +7 (999) 123-45-67.',
  'a base64 blob': Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 256)).toString('base64'),
};

describe('token estimate', () => {
  it.each(Object.entries(samples))('stays within 0.75 to 2 times the real count on %s', (_kind, text) => {
    const ratio = estimateTokens(text) / countTokens(text);
    expect(ratio).toBeGreaterThanOrEqual(0.75);
    expect(ratio).toBeLessThanOrEqual(2);
  });

  it('counts nothing for nothing and at least one token for any text', () => {
    expect(estimateTokens('')).toBe(0);
    for (const text of ['a', '?', '7', '字', '👍']) expect(estimateTokens(text)).toBeGreaterThanOrEqual(1);
  });

  it('reads a long history in well under a millisecond per turn', () => {
    const turn = samples['English prose']!.slice(0, 500);
    // the best of a few rounds: what the code costs, not how busy the machine was in one round
    const rounds = Array.from({ length: 5 }, () => {
      const start = performance.now();
      for (let i = 0; i < 400; i++) estimateTokens(turn);
      return performance.now() - start;
    });
    expect(Math.min(...rounds)).toBeLessThan(400);
  });
});
