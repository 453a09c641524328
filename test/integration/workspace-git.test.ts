import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  beginRun,
  commitRun,
  ensureRepo,
  lastRunDiff,
  runCommitMessage,
  undoLast,
  type Checkpoint,
} from '../../src/workspace/git';
import { projectNameError, projectPath } from '../../src/workspace/projects';
import { decideSandbox, detectBwrap } from '../../src/workspace/sandbox';
import { BWRAP_WORKS, tempDirs } from '../helpers/temp-dir';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/** git as the person runs it (their own identity, no global config). */
function git(root: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-C', root, '-c', 'user.name=person', '-c', 'user.email=person@example.org', ...args],
    {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    },
  );
}

function write(root: string, rel: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content);
}

function read(root: string, rel: string): string {
  return fs.readFileSync(path.join(root, rel), 'utf8');
}

/** A project with one commit of the person's: a.txt and b.txt of five lines each. */
async function project(): Promise<string> {
  const root = path.join(dirs.make(), 'project');
  await ensureRepo(root);
  write(root, 'a.txt', 'a1\na2\na3\na4\na5\n');
  write(root, 'b.txt', 'b1\nb2\nb3\nb4\nb5\n');
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', 'start');
  return root;
}

async function run(root: string, request: string, change: () => void): Promise<ReturnType<typeof commitRun>> {
  const checkpoint = JSON.parse(JSON.stringify(await beginRun(root))) as Checkpoint; // as the journal keeps it
  change();
  return commitRun(root, checkpoint, runCommitMessage(request));
}

describe('ensureRepo and projects', () => {
  it('creates the folder and a repository on main with a local identity, once', async () => {
    const root = path.join(dirs.make(), 'new', 'project');
    await ensureRepo(root);
    expect(git(root, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/main');
    expect(git(root, 'config', '--local', 'user.name').trim()).toBe('autonous');
    git(root, 'config', '--local', 'user.name', 'kept');
    await ensureRepo(root);
    expect(git(root, 'config', '--local', 'user.name').trim()).toBe('kept');
  });

  it('gives a project its own repository even inside another one', async () => {
    const outer = await project();
    const inner = path.join(outer, 'state', 'workspaces', 'default');
    await ensureRepo(inner);
    expect(git(inner, 'rev-parse', '--show-toplevel').trim()).toBe(inner);
  });

  it('accepts [a-z0-9-]{1,40} as project names and creates the project on first use', async () => {
    expect(projectNameError('my-app-2')).toBeNull();
    for (const bad of ['', 'My', 'a/b', '..', 'a_b', 'x'.repeat(41)])
      expect(projectNameError(bad)).toMatch(/cannot be a project name/);
    const workspaces = dirs.make();
    const root = await projectPath(workspaces, 'alpha');
    expect(root).toBe(path.join(workspaces, 'alpha'));
    expect(fs.existsSync(path.join(root, '.git'))).toBe(true);
    await expect(projectPath(workspaces, '../evil')).rejects.toThrow(/cannot be a project name/);
  });
});

describe('a run', () => {
  it('that edits two files is one commit by autonous, and the tree is clean after it', async () => {
    const root = await project();
    const result = await run(root, 'fix both files\nplease', () => {
      write(root, 'a.txt', 'a1\nA2\na3\na4\na5\n');
      write(root, 'src/new.txt', 'new\n');
    });
    expect(result).toEqual({
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
      files: ['a.txt', 'src/new.txt'],
      includedPersonEdits: [],
    });
    expect(git(root, 'log', '-1', '--format=%an <%ae>|%cn|%s').trim()).toBe(
      'autonous <autonous@localhost>|autonous|autonous: fix both files',
    );
    expect(git(root, 'rev-list', '--count', 'HEAD').trim()).toBe('2');
    expect(git(root, 'status', '--porcelain')).toBe('');
  });

  it('that changes nothing commits nothing', async () => {
    const root = await project();
    expect(await run(root, 'look around', () => undefined)).toBeNull();
    expect(
      await run(root, 'change and change back', () => write(root, 'a.txt', read(root, 'a.txt'))),
    ).toBeNull();
    expect(git(root, 'rev-list', '--count', 'HEAD').trim()).toBe('1');
  });

  it('keeps the person’s uncommitted edit and untracked file out of its commit, intact after it and after /undo', async () => {
    const root = await project();
    write(root, 'b.txt', 'b1\nb2 edited by the person\nb3\nb4\nb5\n');
    write(root, 'notes.txt', 'my notes\n');
    git(root, 'add', 'notes.txt'); // staged, not committed
    const result = await run(root, 'edit a and add c', () => {
      write(root, 'a.txt', 'a1\na2\na3\na4\nA5\n');
      write(root, 'c.txt', 'c\n');
    });
    expect(result?.files).toEqual(['a.txt', 'c.txt']);
    expect(git(root, 'show', '--name-only', '--format=', 'HEAD').trim().split('\n')).toEqual([
      'a.txt',
      'c.txt',
    ]);
    expect(read(root, 'b.txt')).toBe('b1\nb2 edited by the person\nb3\nb4\nb5\n');
    expect(git(root, 'status', '--porcelain').split('\n').filter(Boolean).sort()).toEqual([
      ' M b.txt',
      'A  notes.txt',
    ]);

    const undo = await undoLast(root);
    expect(undo).toMatchObject({
      kind: 'reverted',
      reverted: result?.commit,
      subject: 'autonous: edit a and add c',
      files: ['a.txt', 'c.txt'],
    });
    expect(read(root, 'a.txt')).toBe('a1\na2\na3\na4\na5\n');
    expect(fs.existsSync(path.join(root, 'c.txt'))).toBe(false);
    expect(read(root, 'b.txt')).toBe('b1\nb2 edited by the person\nb3\nb4\nb5\n');
    expect(read(root, 'notes.txt')).toBe('my notes\n');
    expect(git(root, 'status', '--porcelain').split('\n').filter(Boolean).sort()).toEqual([
      ' M b.txt',
      'A  notes.txt',
    ]);
    expect(git(root, 'log', '-1', '--format=%an|%s').trim()).toBe(
      'autonous|Undo "autonous: edit a and add c"',
    );
    expect(git(root, 'rev-list', '--count', 'HEAD').trim()).toBe('3');
  });

  it('that edits another part of a file the person edited commits only its own change', async () => {
    const root = await project();
    write(root, 'a.txt', 'a1 person\na2\na3\na4\na5\n');
    const result = await run(root, 'change the end', () =>
      write(root, 'a.txt', 'a1 person\na2\na3\na4\na5 run\n'),
    );
    expect(result).toMatchObject({ files: ['a.txt'], includedPersonEdits: [] });
    expect(git(root, 'show', 'HEAD:a.txt')).toBe('a1\na2\na3\na4\na5 run\n');
    expect(read(root, 'a.txt')).toBe('a1 person\na2\na3\na4\na5 run\n');
    expect(git(root, 'diff', '--name-only').trim()).toBe('a.txt');

    expect(await undoLast(root)).toMatchObject({ kind: 'reverted' });
    expect(read(root, 'a.txt')).toBe('a1 person\na2\na3\na4\na5\n');
    expect(git(root, 'show', 'HEAD:a.txt')).toBe('a1\na2\na3\na4\na5\n');
  });

  it('that rewrites the very lines the person edited commits the file as it left it and says so', async () => {
    const root = await project();
    write(root, 'a.txt', 'a1 person\na2\na3\na4\na5\n');
    const result = await run(root, 'rewrite line 1', () => write(root, 'a.txt', 'a1 run\na2\na3\na4\na5\n'));
    expect(result).toMatchObject({ files: ['a.txt'], includedPersonEdits: ['a.txt'] });
    expect(git(root, 'show', 'HEAD:a.txt')).toBe('a1 run\na2\na3\na4\na5\n');
  });

  it('is committed after the worker restarted, from the checkpoint the journal kept', async () => {
    const root = await project();
    const stored = JSON.stringify(await beginRun(root));
    write(root, 'a.txt', 'changed before the kill\n');
    write(root, 'b.txt', 'changed after the restart\n');
    const result = await commitRun(root, JSON.parse(stored) as Checkpoint, runCommitMessage('resumed'));
    expect(result?.files).toEqual(['a.txt', 'b.txt']);
  });

  it('on a branch without commits becomes its first commit, and /undo reverts it', async () => {
    const root = path.join(dirs.make(), 'fresh');
    await ensureRepo(root);
    const result = await run(root, 'start it', () => write(root, 'hello.txt', 'hi\n'));
    expect(result?.files).toEqual(['hello.txt']);
    expect(await undoLast(root)).toMatchObject({ kind: 'reverted', files: ['hello.txt'] });
    expect(fs.existsSync(path.join(root, 'hello.txt'))).toBe(false);
  });

  it('never reads an identity or runs a filter from a config the agent could write, so passes no secret to one', async () => {
    const root = await project();
    write(root, '.gitconfig', '[user]\n\tname = evil\n\temail = evil@example.org\n'); // $HOME is the project
    write(root, '.gitattributes', '*.txt filter=probe\n');
    git(root, 'config', 'filter.probe.clean', 'sh -c "env > \\"$HOME/filter-env.out\\"; cat"');
    git(root, 'add', '.gitattributes', '.gitconfig');
    git(root, 'commit', '-qm', 'attributes');
    // the person's own git may have run the filter (a racily clean a.txt is read again): only what
    // the worker's git does counts
    fs.rmSync(path.join(root, 'filter-env.out'), { force: true });
    process.env.TELEGRAM_BOT_TOKEN = '123456:fake-token-git';
    process.env.OPENAI_API_KEY = 'sk-fake-git';
    try {
      const result = await run(root, 'touch a', () => write(root, 'a.txt', 'new\n'));
      expect(result?.files).toEqual(['a.txt']);
    } finally {
      delete process.env.TELEGRAM_BOT_TOKEN;
      delete process.env.OPENAI_API_KEY;
    }
    expect(git(root, 'log', '-1', '--format=%an <%ae>').trim()).toBe('autonous <autonous@localhost>');
    // the filter never ran, so it saw no environment at all, secrets or not; a.txt is stored as is
    expect(fs.existsSync(path.join(root, 'filter-env.out'))).toBe(false);
    expect(git(root, 'show', 'HEAD:a.txt')).toBe('new\n');
  });
});

describe('/undo and /diff', () => {
  it('say so when there is nothing to undo, also once every run was undone', async () => {
    const root = await project();
    expect(await undoLast(root)).toEqual({
      kind: 'nothing',
      message: expect.stringMatching(/^Nothing to undo/),
    });
    expect(await lastRunDiff(root)).toBeNull();
    await run(root, 'one', () => write(root, 'a.txt', 'one\n'));
    expect(await undoLast(root)).toMatchObject({ kind: 'reverted' });
    expect(await undoLast(root)).toMatchObject({ kind: 'nothing' });
  });

  it('undo the runs newest first', async () => {
    const root = await project();
    await run(root, 'first', () => write(root, 'a.txt', 'first\n'));
    await run(root, 'second', () => write(root, 'b.txt', 'second\n'));
    expect(await undoLast(root)).toMatchObject({ kind: 'reverted', subject: 'autonous: second' });
    expect(read(root, 'b.txt')).toBe('b1\nb2\nb3\nb4\nb5\n');
    expect(await undoLast(root)).toMatchObject({ kind: 'reverted', subject: 'autonous: first' });
    expect(read(root, 'a.txt')).toBe('a1\na2\na3\na4\na5\n');
    expect(git(root, 'status', '--porcelain')).toBe('');
  });

  it('refuses, changing nothing, when the person has since edited the run’s lines', async () => {
    const root = await project();
    await run(root, 'edit line 2', () => write(root, 'a.txt', 'a1\nA2 run\na3\na4\na5\n'));
    write(root, 'a.txt', 'a1\nA2 run, then the person\na3\na4\na5\n');
    const head = git(root, 'rev-parse', 'HEAD');
    const undo = await undoLast(root);
    expect(undo).toEqual({
      kind: 'refused',
      message: expect.stringMatching(/^Cannot undo "autonous: edit line 2": a\.txt changed since/),
    });
    expect(git(root, 'rev-parse', 'HEAD')).toBe(head);
    expect(read(root, 'a.txt')).toBe('a1\nA2 run, then the person\na3\na4\na5\n');
  });

  it('show the last run’s diffstat and diff, and whether it was undone', async () => {
    const root = await project();
    await run(root, 'edit a', () => write(root, 'a.txt', 'a1\nA2\na3\na4\na5\n'));
    const diff = await lastRunDiff(root);
    expect(diff).toMatchObject({ subject: 'autonous: edit a', reverted: false });
    expect(diff?.stat).toMatch(/a\.txt \| 2 \+-\n 1 file changed, 1 insertion\(\+\), 1 deletion\(-\)/);
    expect(diff?.diff).toContain('-a2\n+A2\n');
    await undoLast(root);
    expect(await lastRunDiff(root)).toMatchObject({ subject: 'autonous: edit a', reverted: true });
  });
});

(BWRAP_WORKS ? describe : describe.skip)('git in bwrap (skipped where bwrap does not work)', () => {
  it('commits and undoes a run with git itself sandboxed', async () => {
    const sandbox = decideSandbox('bwrap', await detectBwrap());
    const root = await project();
    const checkpoint = await beginRun(root, { sandbox });
    write(root, 'a.txt', 'sandboxed\n');
    expect(await commitRun(root, checkpoint, runCommitMessage('in bwrap'), { sandbox })).toMatchObject({
      files: ['a.txt'],
    });
    expect(await undoLast(root, { sandbox })).toMatchObject({ kind: 'reverted' });
    expect(read(root, 'a.txt')).toBe('a1\na2\na3\na4\na5\n');
  });
});
