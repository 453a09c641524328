import { Lexer, type Token, type Tokens } from 'marked';

// Models answer in Markdown; Telegram understands a small HTML subset (b, i, s, u, code, pre,
// a, blockquote). marked lexes the Markdown (it handles the edge cases of CommonMark and GFM
// that a regex would not); this file only maps its tokens onto that subset. Everything else
// becomes escaped text, so the HTML we send is always well formed.

/** A quote longer than this is sent folded (`<blockquote expandable>`). */
const FOLDED_QUOTE_CHARS = 300;

/** Escapes text for Telegram's HTML parse mode. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(text: string): string {
  return escapeHtml(text).replace(/"/g, '&quot;');
}

function inline(tokens: readonly Token[] | undefined): string {
  if (!tokens) return '';
  let out = '';
  for (const token of tokens) out += inlineToken(token);
  return out;
}

function inlineToken(token: Token): string {
  switch (token.type) {
    case 'strong':
      return `<b>${inline((token as Tokens.Strong).tokens)}</b>`;
    case 'em':
      return `<i>${inline((token as Tokens.Em).tokens)}</i>`;
    case 'del':
      return `<s>${inline((token as Tokens.Del).tokens)}</s>`;
    case 'codespan':
      return `<code>${escapeHtml((token as Tokens.Codespan).text)}</code>`;
    case 'br':
      return '\n';
    case 'link': {
      const link = token as Tokens.Link;
      const label = inline(link.tokens);
      return /^(https?:|tg:|mailto:)/i.test(link.href)
        ? `<a href="${escapeAttr(link.href)}">${label}</a>`
        : label;
    }
    case 'image': {
      const image = token as Tokens.Image;
      return /^https?:/i.test(image.href)
        ? `<a href="${escapeAttr(image.href)}">${escapeHtml(image.text || image.href)}</a>`
        : escapeHtml(image.text);
    }
    case 'text': {
      const text = token as Tokens.Text;
      return text.tokens ? inline(text.tokens) : escapeHtml(text.text);
    }
    case 'escape':
      return escapeHtml((token as Tokens.Escape).text);
    default:
      // html and anything unknown: show it as the model wrote it
      return escapeHtml(token.raw);
  }
}

function list(token: Tokens.List, depth: number): string {
  const start = typeof token.start === 'number' ? token.start : 1;
  return token.items
    .map((item, i) => {
      const bullet = token.ordered ? `${start + i}.` : item.task ? (item.checked ? '☑' : '☐') : '•';
      const body = blocks(item.tokens, depth + 1).join('\n');
      return `${'  '.repeat(depth)}${bullet} ${body}`;
    })
    .join('\n');
}

function block(token: Token, depth: number): string | null {
  switch (token.type) {
    case 'space':
    case 'def':
      return null;
    case 'heading':
      return `<b>${inline((token as Tokens.Heading).tokens)}</b>`;
    case 'paragraph':
      return inline((token as Tokens.Paragraph).tokens);
    case 'text': {
      const text = token as Tokens.Text;
      return text.tokens ? inline(text.tokens) : escapeHtml(text.text);
    }
    case 'code': {
      const code = token as Tokens.Code;
      const lang = code.lang?.trim().split(/\s+/)[0];
      const open = lang && /^[\w+#.-]+$/.test(lang) ? `<pre><code class="language-${lang}">` : '<pre><code>';
      return `${open}${escapeHtml(code.text)}</code></pre>`;
    }
    case 'blockquote': {
      const inner = blocks((token as Tokens.Blockquote).tokens, depth).join('\n');
      // a long quote (a model's reasoning shown with OPENAI_SHOW_THINKING) is folded by Telegram
      const open = inner.length > FOLDED_QUOTE_CHARS ? '<blockquote expandable>' : '<blockquote>';
      return `${open}${inner}</blockquote>`;
    }
    case 'list':
      return list(token as Tokens.List, depth);
    case 'hr':
      return '──────────';
    case 'table':
      // Telegram has no tables: keep the model's text aligned in a monospace block
      return `<pre>${escapeHtml(token.raw.trimEnd())}</pre>`;
    default:
      return escapeHtml(token.raw.trim());
  }
}

function blocks(tokens: readonly Token[], depth: number): string[] {
  const out: string[] = [];
  for (const token of tokens) {
    const rendered = block(token, depth);
    if (rendered !== null && rendered !== '') out.push(rendered);
  }
  return out;
}

/** Renders the model's Markdown as Telegram HTML (parse_mode `HTML`). */
export function markdownToTelegramHtml(markdown: string): string {
  return blocks(Lexer.lex(markdown, { gfm: true }), 0).join('\n\n');
}
