import { editApplied, occurrences } from '../../src/agent/tools/edit-match';
import { globToRegExp, matchesGlob } from '../../src/agent/tools/glob';
import { describeCall } from '../../src/agent/describe-call';
import { createTools } from '../../src/agent/tools';
import { looksDestructive, overwritesTooMany, type RiskContext } from '../../src/agent/tools/risk';
import { decideSandbox } from '../../src/workspace/sandbox';

const TOOLS = new Map(createTools({ sandbox: decideSandbox('off', null) }).map((t) => [t.name, t]));

/** The risks the tool of that name declares for a call. */
function riskOf(name: string, args: unknown, context: RiskContext): readonly string[] {
  return TOOLS.get(name)!.risks(args, context);
}

describe('occurrences', () => {
  it('counts overlapping matches, so an ambiguous old_text is not taken as unique', () => {
    expect(occurrences('aaa', 'aa')).toEqual([0, 1]);
    expect(occurrences('abc', 'x')).toEqual([]);
    expect(occurrences('abc', '')).toEqual([]);
  });
});

describe('editApplied', () => {
  it('is false before the edit and true after it', () => {
    expect(editApplied('let x = 1;\n', 'x = 1', 'x = 2')).toBe(false);
    expect(editApplied('let x = 2;\n', 'x = 1', 'x = 2')).toBe(true);
  });

  it('is true after an edit whose new text contains the old one (applying it again would repeat it)', () => {
    expect(editApplied('foo();\n', 'foo();', 'foo();\nbar();')).toBe(false);
    expect(editApplied('foo();\nbar();\n', 'foo();', 'foo();\nbar();')).toBe(true);
  });

  it('is false when the new text was already elsewhere but the old one is still there', () => {
    expect(editApplied('a = 2;\na = 1;\n', 'a = 1;', 'a = 2;')).toBe(false);
  });

  it('is false when the old text straddles an occurrence of the new one', () => {
    // "ab" → "bc" on "abc": the old text is there, only overlapping the new one
    expect(editApplied('abc', 'ab', 'bc')).toBe(false);
    expect(editApplied('bcc', 'ab', 'bc')).toBe(true);
  });

  it('handles a deletion (empty new text)', () => {
    expect(editApplied('keep\ndrop\n', 'drop\n', '')).toBe(false);
    expect(editApplied('keep\n', 'drop\n', '')).toBe(true);
  });

  it('matches LF text against a CRLF file as the edit does', () => {
    expect(editApplied('a\r\nb\r\n', 'a\nb', 'a\nc')).toBe(false);
    expect(editApplied('a\r\nc\r\n', 'a\nb', 'a\nc')).toBe(true);
  });
});

describe('globToRegExp', () => {
  const match = (glob: string, rel: string): boolean =>
    matchesGlob(globToRegExp(glob), glob.includes('/'), rel);

  it('matches names at any depth without a slash', () => {
    expect(match('*.ts', 'src/a/b.ts')).toBe(true);
    expect(match('*.ts', 'src/a/b.tsx')).toBe(false);
    expect(match('b.?s', 'x/b.js')).toBe(true);
    expect(match('*.{ts,js}', 'x/y.js')).toBe(true);
    expect(match('[ab].txt', 'b.txt')).toBe(true);
    expect(match('[!ab].txt', 'b.txt')).toBe(false);
  });

  it('matches the relative path with a slash, ** spanning folders', () => {
    expect(match('src/*.ts', 'src/a.ts')).toBe(true);
    expect(match('src/*.ts', 'src/x/a.ts')).toBe(false);
    expect(match('src/**/a.ts', 'src/a.ts')).toBe(true);
    expect(match('src/**/a.ts', 'src/x/y/a.ts')).toBe(true);
    expect(match('src/**', 'src/x/y')).toBe(true);
  });

  it('treats regex characters literally', () => {
    expect(match('a+b(1).txt', 'a+b(1).txt')).toBe(true);
    expect(match('a.txt', 'abtxt')).toBe(false);
  });
});

describe('what each tool declares of its calls', () => {
  it('describes a call in a few words by the argument that says the most', () => {
    const describe = (name: string, args: unknown): string => describeCall(TOOLS.get(name), name, args);
    expect(describe('bash', { command: 'npm test' })).toBe('bash `npm test`');
    expect(describe('bash', { command: 'make \\\n  all\nmake test' })).toBe(
      'bash `make \\ ⏎ all ⏎ make test`',
    );
    expect(describe('bash', {})).toBe('bash');
    expect(describe('read', { path: 'src/app.ts' })).toBe('read src/app.ts');
    expect(describe('write', { path: 'a.txt', content: 'x' })).toBe('write a.txt');
    expect(describe('edit', { path: 'a.txt' })).toBe('edit a.txt');
    expect(describe('send_file', { path: 'out.pdf' })).toBe('send_file out.pdf');
    expect(describe('grep', { pattern: 'TODO', path: 'src' })).toBe('grep TODO in src');
    expect(describe('find', { pattern: '*.ts' })).toBe('find *.ts');
    expect(describe('grep', {})).toBe('grep');
    expect(describe('ls', {})).toBe('ls .');
    expect(describe('ls', { path: 'src' })).toBe('ls src');
    expect(describe('bash', { command: 'x'.repeat(100) })).toBe(`bash \`${'x'.repeat(59)}…\``);
    expect(describe('read', 'not an object')).toBe('read');
  });

  it('describes a call of a name no tool has by its path, or its name alone', () => {
    expect(describeCall(undefined, 'nope', { path: 'a.txt' })).toBe('nope a.txt');
    expect(describeCall(undefined, 'nope', undefined)).toBe('nope');
  });

  it('names the files a change writes, and only changes say so', () => {
    expect(TOOLS.get('write')!.changes?.({ path: 'Makefile', content: '' })).toEqual(['Makefile']);
    expect(TOOLS.get('edit')!.changes?.({ path: 'src/x.c' })).toEqual(['src/x.c']);
    expect(TOOLS.get('edit')!.changes?.({})).toEqual([]);
    expect([...TOOLS.values()].filter((t) => t.changes !== undefined).map((t) => t.kind)).toEqual([
      'change',
      'change',
    ]);
  });
});

describe('the risks a tool declares', () => {
  it('flags an unsandboxed bash, and a bash asking for the network', () => {
    expect(riskOf('bash', { command: 'ls' }, { sandboxed: false })).toEqual(['unsandboxed']);
    expect(riskOf('bash', { command: 'curl x', network: true }, { sandboxed: true })).toEqual(['network']);
    expect(riskOf('bash', { command: 'npm i', network: true }, { sandboxed: false })).toEqual([
      'unsandboxed',
      'network',
    ]);
    expect(riskOf('bash', { command: 'ls' }, { sandboxed: true })).toEqual([]);
  });

  it('never flags a single write, edit, read or send_file', () => {
    for (const name of ['write', 'edit', 'read', 'grep', 'find', 'ls', 'send_file']) {
      expect(riskOf(name, { path: 'a' }, { sandboxed: false })).toEqual([]);
    }
  });

  it('flags a command line that openly deletes in bulk', () => {
    expect(riskOf('bash', { command: 'rm -rf src' }, { sandboxed: true })).toEqual(['mass-change']);
    for (const command of [
      'rm -r build',
      'cd x && rm -fR *',
      'rm *.log',
      'rm --recursive a',
      'find . -name "*.o" -delete',
      'find . -exec rm {} +',
      'git clean -fdx',
      'git reset --hard HEAD~1',
      'git checkout .',
      'git checkout -- .',
      'git restore src',
      'rsync -a --delete a/ b/',
    ]) {
      expect(looksDestructive(command)).toBe(true);
    }
    for (const command of [
      'rm a.txt',
      'npm run build',
      'grep -r rm .',
      'git status',
      'form -r',
      'git checkout main',
    ]) {
      expect({ command, destructive: looksDestructive(command) }).toEqual({ command, destructive: false });
    }
  });
});

describe('overwritesTooMany', () => {
  const writes = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ name: 'write', args: { path: `f${i}` } }));

  it('is true for more than 20 existing files overwritten by one response', () => {
    expect(overwritesTooMany(writes(21), () => true)).toBe(true);
    expect(overwritesTooMany(writes(20), () => true)).toBe(false);
  });

  it('counts neither new files nor the same file twice, nor other tools', () => {
    expect(overwritesTooMany(writes(30), () => false)).toBe(false);
    const same = Array.from({ length: 30 }, () => ({ name: 'edit', args: { path: 'same' } }));
    expect(overwritesTooMany(same, () => true)).toBe(false);
    expect(overwritesTooMany([...writes(20), { name: 'read', args: { path: 'x' } }], () => true)).toBe(false);
  });
});
