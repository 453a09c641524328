/**
 * The README is the entry point and the reference lives in docs/, one file per topic: a link or an
 * anchor that no longer resolves (a heading renamed, a section moved to another file) sends the
 * reader nowhere, and GitHub says nothing about it.
 */
import path from 'node:path';
import { anchors, brokenLinks, docFiles, links, readFromDisk, slug } from '../helpers/markdown-links';

const ROOT = path.resolve(__dirname, '..', '..');
const files = docFiles(ROOT);

describe('links of the README and docs/', () => {
  it('finds the README and the files under docs/', () => {
    expect(files[0]).toBe(path.join(ROOT, 'README.md'));
    expect(files.length).toBeGreaterThan(10);
  });

  it('lead to a file that exists and to a heading of it, for every relative link and anchor', () => {
    expect(brokenLinks(ROOT, files, readFromDisk)).toEqual([]);
  });

  it('include a link from the README to every file under docs/', () => {
    const linked = new Set(
      links(readFromDisk(path.join(ROOT, 'README.md')) ?? '').map(({ href }) =>
        path.resolve(ROOT, href.split('#')[0] ?? ''),
      ),
    );
    expect(files.slice(1).filter((file) => !linked.has(file))).toEqual([]);
  });
});

describe('the link check', () => {
  it('slugs a heading as GitHub does', () => {
    expect(slug('Guarantees, and the one window for a duplicate')).toBe(
      'guarantees-and-the-one-window-for-a-duplicate',
    );
    expect(slug('/stop')).toBe('stop');
    expect(slug('queue ls')).toBe('queue-ls');
    expect(slug('A restart of the supervisor loses nothing')).toBe(
      'a-restart-of-the-supervisor-loses-nothing',
    );
    expect(slug('snake_case and 1.5× faster')).toBe('snake_case-and-15-faster');
  });

  it('numbers repeated headings and ignores lines in code blocks', () => {
    const markdown = [
      '# Title',
      'Code `over',
      'two lines` in prose.',
      '## Config',
      '```sh',
      '# not a heading',
      '```',
      '### `Config`',
      '## Config',
    ].join('\n');
    expect([...anchors(markdown)]).toEqual(['title', 'config', 'config-1', 'config-2']);
  });

  it('reports every link to a missing file or heading, with its line, and nothing else', () => {
    const root = '/docs-root';
    const pages: Record<string, string> = {
      '/docs-root/README.md': [
        '# Guide',
        'See [a](docs/a.md#setup), [b](docs/b.md), [gone](docs/a.md#nowhere),',
        '[a link over',
        'two lines](#guid) and [the web](https://example.com) and `[code](missing.md)`.',
        '',
        '```',
        '[fenced](missing.md)',
        '```',
      ].join('\n'),
      '/docs-root/docs/a.md': '# A\n\n## Setup\n\nBack to [the guide](../README.md#guide).\n',
    };
    const read = (file: string): string | undefined => pages[file];
    expect(brokenLinks(root, Object.keys(pages), read)).toEqual([
      'README.md:2: docs/b.md (no such file)',
      'README.md:2: docs/a.md#nowhere (no heading with this anchor)',
      'README.md:3: #guid (no heading with this anchor)',
    ]);
  });
});
