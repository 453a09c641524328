import { formatReply } from '../../src/worker/format';
import { markdownToTelegramHtml } from '../../src/worker/markdown';
import { splitMessage, TELEGRAM_TEXT_LIMIT } from '../../src/worker/split';

const paragraph = (i: number, len = 900): string =>
  `P${i} ` + 'lorem ipsum '.repeat(Math.ceil(len / 12)).slice(0, len);

describe('splitting long answers', () => {
  it('leaves a short answer whole', () => {
    expect(splitMessage('hello')).toEqual(['hello']);
  });

  it('splits 10,000 characters into parts within the limit, at paragraph boundaries, losing nothing', () => {
    const paras = Array.from({ length: 12 }, (_, i) => paragraph(i));
    const text = paras.join('\n\n');
    expect(text.length).toBeGreaterThan(10_000);
    const parts = splitMessage(text);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(parts.join('\n\n')).toBe(text);
    for (const part of parts) expect(part.startsWith('P')).toBe(true);
  });

  it('falls back to line, then word boundaries for one huge paragraph', () => {
    const text = 'word '.repeat(3000).trim();
    const parts = splitMessage(text, 1000);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(1000);
    expect(parts.join(' ')).toBe(text);
  });

  it('keeps a code block whole when it fits in one message', () => {
    const code = '```js\n' + 'const a = 1;\n'.repeat(100) + '```';
    const text = paragraph(1, 3000) + '\n\n' + code + '\n\n' + paragraph(2, 100);
    const parts = splitMessage(text);
    expect(parts.some((p) => p.includes(code))).toBe(true);
  });

  it('re-fences a code block that is too long for one message', () => {
    const code = '```py\n' + Array.from({ length: 800 }, (_, i) => `print(${i})`).join('\n') + '\n```';
    const parts = splitMessage(code);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
      expect(part.startsWith('```py\n')).toBe(true);
      expect(part.endsWith('\n```')).toBe(true);
    }
  });

  it('never cuts an emoji in half', () => {
    const text = '😀'.repeat(5000);
    for (const part of splitMessage(text)) {
      expect(part.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
      expect(part).not.toMatch(/[\ud800-\udbff]$/);
    }
  });
});

describe('Telegram HTML', () => {
  it('renders the common Markdown as Telegram tags and escapes the rest', () => {
    const html = markdownToTelegramHtml(
      '# Title\n\n**bold** _it_ `a<b` [x](https://e.com/?a=1&b=2) <script>\n\n- one\n- two',
    );
    expect(html).toBe(
      '<b>Title</b>\n\n<b>bold</b> <i>it</i> <code>a&lt;b</code> <a href="https://e.com/?a=1&amp;b=2">x</a> &lt;script&gt;\n\n• one\n• two',
    );
  });

  it('renders fenced code as pre with its language', () => {
    expect(markdownToTelegramHtml('```ts\nif (a < b) {}\n```')).toBe(
      '<pre><code class="language-ts">if (a &lt; b) {}</code></pre>',
    );
  });

  it('keeps every part within the limit after escaping', () => {
    const text = '<&>'.repeat(4000);
    const parts = formatReply(text);
    for (const part of parts) {
      expect(part.plain.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
      if (part.html !== null) expect(part.html.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    }
    expect(parts.map((p) => p.plain).join('')).toBe(text);
  });
});
