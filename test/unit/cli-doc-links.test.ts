/**
 * The help texts, renderers and comments of the CLI and the supervisor point operators at
 * documentation: every place they name must exist (the old docs/*.md files were folded into the
 * README, and a pointer to a missing file sends the reader nowhere).
 */
import fs from 'node:fs';
import path from 'node:path';

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
const headings = new Set(
  fs
    .readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    .split('\n')
    .flatMap((line) => {
      const m = /^#{1,6}\s+(.+?)\s*$/.exec(line);
      return m?.[1] === undefined ? [] : [m[1]];
    }),
);

describe('documentation pointers of the CLI and the supervisor', () => {
  it('scans the CLI and the supervisor', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it('name no file under docs/ that does not exist', () => {
    const missing = files.flatMap((file) =>
      [...fs.readFileSync(file, 'utf8').matchAll(/\bdocs\/[\w./-]+\.md\b/g)]
        .map((m) => m[0])
        .filter((doc) => !fs.existsSync(path.join(ROOT, doc)))
        .map((doc) => `${path.relative(ROOT, file)}: ${doc}`),
    );
    expect(missing).toEqual([]);
  });

  it('name only README sections that exist', () => {
    const pointers = files.flatMap((file) =>
      [...fs.readFileSync(file, 'utf8').matchAll(/README\.md, section ([A-Z][\w ]*?)(?=[,.)]|$)/gm)].map(
        (m) => ({ file: path.relative(ROOT, file), section: m[1] ?? '' }),
      ),
    );
    expect(pointers.length).toBeGreaterThanOrEqual(5);
    expect(pointers.filter((p) => !headings.has(p.section))).toEqual([]);
  });
});
