import { markdownToTelegramHtml } from './markdown';
import { splitMessage, TELEGRAM_TEXT_LIMIT } from './split';

/** One Telegram message of a reply: the HTML to send, and the plain text if HTML is refused. */
export interface ReplyPart {
  readonly html: string | null;
  readonly plain: string;
}

/**
 * The model's Markdown as Telegram messages, each within the limit both as HTML and as plain
 * text. Escaping can make the HTML longer than its source, so a part whose HTML does not fit is
 * split again, smaller.
 */
export function formatReply(
  markdown: string,
  limit: number = TELEGRAM_TEXT_LIMIT,
  splitAt: number = limit,
): ReplyPart[] {
  const parts: ReplyPart[] = [];
  for (const chunk of splitMessage(markdown, splitAt)) {
    const html = markdownToTelegramHtml(chunk);
    if (html.length <= limit && html.trim() !== '') parts.push({ html, plain: chunk });
    else if (html.trim() === '') parts.push({ html: null, plain: chunk });
    else if (splitAt > 256) parts.push(...formatReply(chunk, limit, Math.floor(splitAt * 0.7)));
    else parts.push({ html: null, plain: chunk });
  }
  return parts;
}
