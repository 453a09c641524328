// Shortening text for a person to read (a card, a summary line, a table cell). Pure.

/** `text` when it fits in `max` characters, else its start and an ellipsis, `max` in all. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  // do not split a surrogate pair: step back one when the cut lands between its halves
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
