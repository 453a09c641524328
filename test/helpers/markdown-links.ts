import fs from 'node:fs';
import path from 'node:path';

/** Reads a file by its path, or gives undefined when there is none. */
export type ReadFile = (file: string) => string | undefined;

/** A link in a Markdown file: where it is and where it points. */
export interface MarkdownLink {
  line: number;
  href: string;
}

/** The documentation's Markdown files under root: README.md and every `.md` file in docs/, sorted. */
export function docFiles(root: string): string[] {
  const docs = path.join(root, 'docs');
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return walk(full);
      return entry.name.endsWith('.md') ? [full] : [];
    });
  return [path.join(root, 'README.md'), ...(fs.existsSync(docs) ? walk(docs).sort() : [])];
}

/** Reads files from disk; a missing path or a folder reads as undefined. */
export const readFromDisk: ReadFile = (file) =>
  fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file, 'utf8') : undefined;

// Blanks code (fenced blocks and inline spans) with spaces, keeping line numbers and offsets, so
// that a `[x](y)` or `# x` shown as code is neither a link nor a heading.
function blankCode(markdown: string): string {
  const lines = markdown.split('\n');
  let fence: string | undefined;
  const prose = lines.map((line) => {
    const opener = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (opener !== undefined && opener[0] === fence[0] && opener.length >= fence.length) fence = undefined;
      return '';
    }
    if (opener !== undefined) {
      fence = opener;
      return '';
    }
    return line;
  });
  return prose.join('\n').replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (span) => span.replace(/[^\n]/g, ' '));
}

/** The text of each heading (ATX `#` headings outside code), with inline code marks and links reduced to text. */
export function headings(markdown: string): string[] {
  const prose = blankCode(markdown).split('\n');
  return markdown.split('\n').flatMap((line, i) => {
    if (!/^\s{0,3}#{1,6}\s/.test(prose[i] ?? '')) return [];
    const text = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1] ?? '';
    return [
      text
        .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
        .replace(/`/g, '')
        .trim(),
    ];
  });
}

/** GitHub's anchor for a heading: lowercase, punctuation but `-` and `_` dropped, each space a `-`. */
export function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors GitHub gives a file's headings; a repeated one gets `-1`, `-2`, ... as GitHub numbers them. */
export function anchors(markdown: string): Set<string> {
  const seen = new Set<string>();
  for (const heading of headings(markdown)) {
    const base = slug(heading);
    let anchor = base;
    for (let n = 1; seen.has(anchor); n++) anchor = `${base}-${n}`;
    seen.add(anchor);
  }
  return seen;
}

/** Every inline `[text](href)` (text may span lines, images too) and reference definition outside code. */
export function links(markdown: string): MarkdownLink[] {
  const prose = blankCode(markdown);
  const lineOf = (offset: number): number => prose.slice(0, offset).split('\n').length;
  const inline = [...prose.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)];
  const defined = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)];
  return [...inline, ...defined]
    .map((m) => ({ line: lineOf(m.index ?? 0), href: m[1] ?? '' }))
    .sort((a, b) => a.line - b.line);
}

/**
 * Every link of the given files that leads nowhere: a relative path to no file, or an anchor that
 * is no heading of the file it points into; as `file:line: href (why)`, paths relative to root.
 */
export function brokenLinks(root: string, files: string[], read: ReadFile): string[] {
  const anchorsOf = new Map<string, Set<string>>();
  const anchorsIn = (file: string, text: string): Set<string> => {
    const known = anchorsOf.get(file) ?? anchors(text);
    anchorsOf.set(file, known);
    return known;
  };
  return files.flatMap((file) => {
    const text = read(file);
    if (text === undefined) return [`${path.relative(root, file)}: the file is missing`];
    return links(text).flatMap(({ line, href }) => {
      const where = `${path.relative(root, file)}:${line}: ${href}`;
      if (href === '') return [`${where} (empty link)`];
      if (/^[a-z][a-z\d+.-]*:/i.test(href)) return [];
      const hash = href.indexOf('#');
      const target = hash < 0 ? href : href.slice(0, hash);
      const anchor = hash < 0 ? undefined : decodeURIComponent(href.slice(hash + 1));
      const targetFile = target === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(target));
      const targetText = read(targetFile);
      if (targetText === undefined) {
        const folder =
          anchor === undefined && fs.existsSync(targetFile) && fs.statSync(targetFile).isDirectory();
        return folder ? [] : [`${where} (no such file)`];
      }
      if (anchor === undefined || !targetFile.endsWith('.md')) return [];
      return anchorsIn(targetFile, targetText).has(anchor) ? [] : [`${where} (no heading with this anchor)`];
    });
  });
}
