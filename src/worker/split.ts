// Telegram refuses messages over 4096 characters. Long answers are cut at the most natural
// boundary that fits: between paragraphs, then lines, then words; a fenced code block is kept
// whole when it fits in one message and otherwise re-fenced in each part. Pure functions.

/** Telegram's limit for a message's text. */
export const TELEGRAM_TEXT_LIMIT = 4096;

interface Block {
  readonly text: string;
  /** The fence line (```lang) for a code block. */
  readonly fence?: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** Splits Markdown into paragraphs and fenced code blocks. */
function toBlocks(text: string): Block[] {
  const lines = text.split('\n');
  const out: Block[] = [];
  let para: string[] = [];
  const flush = (): void => {
    if (para.length > 0) out.push({ text: para.join('\n') });
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const open = FENCE.exec(line);
    if (open) {
      flush();
      const marker = open[1]!;
      const body = [line];
      let j = i + 1;
      for (; j < lines.length; j++) {
        body.push(lines[j]!);
        if (lines[j]!.trim().startsWith(marker) && lines[j]!.trim().replace(/[`~]/g, '') === '') break;
      }
      out.push({ text: body.join('\n'), fence: line.trim() });
      i = j;
      continue;
    }
    if (line.trim() === '') flush();
    else para.push(line);
  }
  flush();
  return out;
}

/** Cuts at `limit` without splitting a surrogate pair. */
function hardCut(text: string, limit: number): number {
  let cut = limit;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return Math.max(1, cut);
}

/** Splits plain text at line, then word boundaries, so every piece is at most `limit`. */
function splitLoose(text: string, limit: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    const window = rest.slice(0, limit + 1);
    let cut = window.lastIndexOf('\n');
    if (cut < limit / 3) cut = window.lastIndexOf(' ');
    if (cut < limit / 3) cut = hardCut(rest, limit);
    out.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).replace(/^[ \n]/, '');
  }
  if (rest.trim() !== '') out.push(rest);
  return out.filter((p) => p.trim() !== '');
}

/** A code block too long for one message, as several fenced blocks. */
function splitCode(block: Block, limit: number): string[] {
  const fence = block.fence!;
  const closing = fence.match(/^(`{3,}|~{3,})/)?.[1] ?? '```';
  const lines = block.text.split('\n').slice(1);
  if (lines.length > 0 && lines[lines.length - 1]!.trim().startsWith(closing)) lines.pop();
  const room = limit - fence.length - closing.length - 2;
  if (room < 16) return splitLoose(block.text, limit);
  const out: string[] = [];
  let current: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (current.length > 0) out.push(`${fence}\n${current.join('\n')}\n${closing}`);
    current = [];
    size = 0;
  };
  for (const line of lines) {
    for (const piece of line.length > room ? splitLoose(line, room) : [line]) {
      if (size + piece.length + 1 > room) flush();
      current.push(piece);
      size += piece.length + 1;
    }
  }
  flush();
  return out;
}

/** Splits a message into parts of at most `limit` characters, in order, losing no text. */
export function splitMessage(text: string, limit: number = TELEGRAM_TEXT_LIMIT): string[] {
  if (text.length <= limit) return text.trim() === '' ? [] : [text];
  const parts: string[] = [];
  let current = '';
  for (const block of toBlocks(text)) {
    const pieces =
      block.text.length <= limit
        ? [block.text]
        : block.fence
          ? splitCode(block, limit)
          : splitLoose(block.text, limit);
    for (const piece of pieces) {
      if (current === '') current = piece;
      else if (current.length + 2 + piece.length <= limit) current += '\n\n' + piece;
      else {
        parts.push(current);
        current = piece;
      }
    }
  }
  if (current !== '') parts.push(current);
  return parts;
}
