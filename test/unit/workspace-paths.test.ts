import fs from 'node:fs';
import path from 'node:path';
import { resolveInside } from '../../src/workspace/paths';
import { tempDirs } from '../helpers/temp-dir';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

function project(): { root: string; outside: string } {
  const base = dirs.make();
  const root = path.join(base, 'project');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(path.join(root, 'src'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(root, 'src', 'app.ts'), 'x');
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
  return { root, outside };
}

function refusal(root: string, input: string, use: 'read' | 'write' = 'read'): string {
  const resolved = resolveInside(root, input, use);
  if (resolved.ok) throw new Error(`${input} was accepted as ${resolved.path}`);
  return resolved.error;
}

describe('resolveInside', () => {
  it('resolves a relative path inside the project to its real path', () => {
    const { root } = project();
    expect(resolveInside(root, 'src/app.ts')).toEqual({
      ok: true,
      path: path.join(root, 'src', 'app.ts'),
      relative: 'src/app.ts',
    });
    expect(resolveInside(root, '.')).toEqual({ ok: true, path: root, relative: '.' });
    expect(resolveInside(root, './src/../src/app.ts')).toMatchObject({ ok: true, relative: 'src/app.ts' });
  });

  it('accepts an absolute path inside the project and a path that does not exist yet', () => {
    const { root } = project();
    expect(resolveInside(root, path.join(root, 'src', 'app.ts'))).toMatchObject({
      ok: true,
      relative: 'src/app.ts',
    });
    expect(resolveInside(root, 'new/dir/file.txt', 'write')).toMatchObject({
      ok: true,
      relative: 'new/dir/file.txt',
    });
  });

  it('refuses ../../etc/passwd with a sentence naming the path', () => {
    const { root } = project();
    expect(refusal(root, '../../etc/passwd')).toMatch(
      /^\.\.\/\.\.\/etc\/passwd is outside the project folder/,
    );
    expect(refusal(root, '..')).toMatch(/outside the project/);
  });

  it('refuses an absolute path elsewhere', () => {
    const { root, outside } = project();
    expect(refusal(root, '/etc/passwd')).toMatch(/outside the project/);
    expect(refusal(root, path.join(outside, 'secret.txt'))).toMatch(/outside the project/);
    // a sibling whose name starts like the project is not inside it
    fs.mkdirSync(`${root}-evil`);
    expect(refusal(root, `${root}-evil/x`)).toMatch(/outside the project/);
  });

  it('refuses a symlink that points out, also through a folder link and for a missing file below it', () => {
    const { root, outside } = project();
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link'));
    fs.symlinkSync(outside, path.join(root, 'dirlink'));
    expect(refusal(root, 'link')).toMatch(/outside the project folder \(it resolves to .*secret\.txt\)/);
    expect(refusal(root, 'dirlink/secret.txt')).toMatch(/outside the project/);
    expect(refusal(root, 'dirlink/new/file.txt', 'write')).toMatch(/outside the project/);
  });

  it('refuses a dangling symlink whose target is outside (writing it would create the target)', () => {
    const { root, outside } = project();
    fs.symlinkSync(path.join(outside, 'created-by-write'), path.join(root, 'dangling'));
    fs.symlinkSync('../outside/nested/x', path.join(root, 'relative-dangling'));
    expect(refusal(root, 'dangling', 'write')).toMatch(/outside the project/);
    expect(refusal(root, 'relative-dangling', 'write')).toMatch(/outside the project/);
  });

  it('follows a symlink that stays inside', () => {
    const { root } = project();
    fs.symlinkSync('src', path.join(root, 'alias'));
    fs.symlinkSync('src/missing.ts', path.join(root, 'dangling-inside'));
    expect(resolveInside(root, 'alias/app.ts')).toMatchObject({ ok: true, relative: 'src/app.ts' });
    expect(resolveInside(root, 'dangling-inside', 'write')).toMatchObject({
      ok: true,
      relative: 'src/missing.ts',
    });
  });

  it('works when the project folder itself is reached through a symlink', () => {
    const { root } = project();
    const alias = path.join(path.dirname(root), 'alias-of-project');
    fs.symlinkSync(root, alias);
    expect(resolveInside(alias, 'src/app.ts')).toMatchObject({
      ok: true,
      path: path.join(root, 'src', 'app.ts'),
    });
    expect(resolveInside(alias, path.join(alias, 'src/app.ts'))).toMatchObject({
      ok: true,
      relative: 'src/app.ts',
    });
    expect(refusal(alias, '../outside/secret.txt')).toMatch(/outside the project/);
  });

  it('refuses a symlink loop', () => {
    const { root } = project();
    fs.symlinkSync('b', path.join(root, 'a'));
    fs.symlinkSync('a', path.join(root, 'b'));
    expect(refusal(root, 'a')).toMatch(/too many levels of symbolic links/);
  });

  it('refuses a write or edit target inside .git, not a read', () => {
    const { root } = project();
    fs.mkdirSync(path.join(root, '.git'));
    fs.writeFileSync(path.join(root, '.git', 'config'), '');
    expect(refusal(root, '.git/config', 'write')).toMatch(/inside a \.git folder/);
    expect(refusal(root, '.git/hooks/pre-commit', 'write')).toMatch(/inside a \.git folder/);
    expect(refusal(root, 'vendor/lib/.git/HEAD', 'write')).toMatch(/inside a \.git folder/);
    fs.symlinkSync('.git', path.join(root, 'innocent'));
    expect(refusal(root, 'innocent/config', 'write')).toMatch(/inside a \.git folder/);
    expect(resolveInside(root, '.git/config', 'read')).toMatchObject({ ok: true });
    expect(resolveInside(root, '.gitignore', 'write')).toMatchObject({ ok: true });
  });

  it('refuses an empty path', () => {
    const { root } = project();
    expect(refusal(root, '')).toBe('The path is empty.');
  });
});
