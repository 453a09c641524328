// The matching of `edit`, pure so that its resume check can be reasoned about and tested apart.

/** Start of every occurrence of `needle`, overlapping ones too ("aa" is twice in "aaa"). */
export function occurrences(haystack: string, needle: string): number[] {
  const found: number[] = [];
  if (needle === '') return found;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) found.push(at);
  return found;
}

/**
 * The texts to match: as given, or with `\n` turned into `\r\n` when the file uses CRLF and the
 * model's text (as models send it) uses LF.
 */
export function lineEndingsOf(
  content: string,
  oldText: string,
  newText: string,
): { old: string; new: string } {
  if (
    content.includes('\r\n') &&
    oldText.includes('\n') &&
    !oldText.includes('\r\n') &&
    !content.includes(oldText)
  ) {
    return { old: oldText.replace(/\n/g, '\r\n'), new: newText.replace(/\n/g, '\r\n') };
  }
  return { old: oldText, new: newText };
}

/**
 * Whether an `edit` of `oldText` into `newText` has already been applied to `content`: the
 * journal has the call but not its result, so the file is all there is to go by.
 *
 * Before a successful edit, `oldText` occurs exactly once; after it, that occurrence is replaced
 * by `newText`. So: applied when `newText` is present (trivially, when it is empty) and no
 * occurrence of `oldText` is left outside an occurrence of `newText`. "Old absent" alone would be
 * wrong when `newText` contains `oldText` (`foo` → `foo bar`): applying it again would give
 * `foo bar bar`. "New present" alone would be wrong when the file already held `newText`
 * elsewhere. What remains ambiguous: a file that before the edit already had its only `oldText`
 * inside a `newText` (e.g. `foo` → `foo bar` on a file holding `foo bar`); the edit is then taken
 * as applied and not made, the safer of the two mistakes (nothing is written twice).
 */
export function editApplied(content: string, oldText: string, newText: string): boolean {
  const { old, new: replacement } = lineEndingsOf(content, oldText, newText);
  if (old === '') return false;
  const news = occurrences(content, replacement).map((start) => [start, start + replacement.length] as const);
  if (replacement !== '' && news.length === 0) return false;
  return occurrences(content, old).every((start) =>
    news.some(([from, to]) => start >= from && start + old.length <= to),
  );
}
