/**
 * The help texts, renderers and comments of the CLI and the supervisor point operators at
 * documentation: every file and section they name must exist (the reference moved from the README
 * into docs/, one file per topic, and a pointer to a missing file or section sends the reader
 * nowhere).
 */
import fs from 'node:fs';
import path from 'node:path';
import { headings } from '../helpers/markdown-links';

const ROOT = path.resolve(__dirname, '..', '..');
const SCANNED = ['src/cli', 'src/supervisor-hooks'];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

const files = SCANNED.flatMap((dir) => sourceFiles(path.join(ROOT, dir)));

function headingsOf(doc: string): Set<string> {
  const file = path.join(ROOT, doc);
  return new Set(fs.existsSync(file) ? headings(fs.readFileSync(file, 'utf8')) : []);
}

describe('documentation pointers of the CLI and the supervisor', () => {
  it('scans the CLI and the supervisor', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it('name no file under docs/ that does not exist', () => {
    const docs = files.flatMap((file) =>
      [...fs.readFileSync(file, 'utf8').matchAll(/\bdocs\/[\w./-]+\.md\b/g)].map((m) => ({
        file: path.relative(ROOT, file),
        doc: m[0],
      })),
    );
    expect(docs.length).toBeGreaterThanOrEqual(5);
    expect(docs.filter(({ doc }) => !fs.existsSync(path.join(ROOT, doc)))).toEqual([]);
  });

  it('name only sections that exist in the file they name', () => {
    const pointers = files.flatMap((file) =>
      [
        ...fs
          .readFileSync(file, 'utf8')
          .matchAll(/\b(README\.md|docs\/[\w./-]+\.md), section ([\w/][\w /-]*?)(?=[,.)`]|$)/gm),
      ].map((m) => ({ file: path.relative(ROOT, file), doc: m[1] ?? '', section: m[2] ?? '' })),
    );
    expect(pointers.length).toBeGreaterThanOrEqual(5);
    expect(pointers.filter((p) => !headingsOf(p.doc).has(p.section))).toEqual([]);
  });
});
