import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  beginRun,
  commitRun,
  ensureRepo,
  lastRunDiff,
  runCommitMessage,
  undoLast,
} from '../../src/workspace/git';
import { GitError, runGit, type GitOptions } from '../../src/workspace/git-runner';
import { decideSandbox, detectBwrap } from '../../src/workspace/sandbox';
import type { ChatCompletionRequest, ChatMessage } from '../helpers/fake-openai';
import { BWRAP_WORKS, tempDirs } from '../helpers/temp-dir';
import { waitUntil } from '../helpers/wait-until';
import { useWorkerHarness } from '../helpers/worker-harness';

// The worker's own git on a repository whose config an attacker wrote (a run's `bash`, or anyone
// who could write the project): real git, real files, real bwrap where it works. Secrets live
// under /var/tmp, outside /tmp: the sandbox's /tmp is its own, so a secret there would prove
// nothing about the sandbox.

jest.setTimeout(30_000);
const dirs = tempDirs();
/** Markers of the processes these tests may start; any left is killed after the file. */
const markers: string[] = [];
afterAll(() => {
  for (const marker of markers) for (const pid of pidsWith(marker)) process.kill(pid, 'SIGKILL');
  dirs.cleanup();
});

/** Pids whose command line holds `marker`. */
function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function marker(prefix: string): string {
  const made = `${prefix}-${randomBytes(6).toString('hex')}`;
  markers.push(made);
  return made;
}

/** git as the person runs it (their identity, no global config). */
function git(root: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-C', root, '-c', 'user.name=person', '-c', 'user.email=person@example.org', ...args],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    },
  );
}

function write(root: string, rel: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content);
}

/** Appends raw lines to the repository's own config, as an attacker with the file would. */
function plant(root: string, config: string): void {
  fs.appendFileSync(path.join(root, '.git', 'config'), config);
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

/** A folder outside /tmp holding an env file and a "database", each with a secret of its own. */
function secrets(): { dir: string; envFile: string; stateDir: string; token: string; row: string } {
  const dir = dirs.make('autonous-h5-', '/var/tmp');
  const token = `TOKEN-${randomBytes(8).toString('hex')}`;
  const row = `DATABASE-ROW-${randomBytes(8).toString('hex')}`;
  const envFile = path.join(dir, '.env');
  fs.writeFileSync(envFile, `TELEGRAM_BOT_TOKEN=${token}\n`);
  const stateDir = path.join(dir, 'state');
  fs.mkdirSync(stateDir);
  fs.writeFileSync(path.join(stateDir, 'agent.db'), `${row}\n`);
  return { dir, envFile, stateDir, token, row };
}

/** Every object in the repository, as text: where a copied secret would be. */
function allObjects(root: string): string {
  return git(root, 'cat-file', '--batch-all-objects', '--batch');
}

/** The `.git/ran-*` markers planted programs leave when they run. */
function ran(root: string): string[] {
  return fs.readdirSync(path.join(root, '.git')).filter((name) => name.startsWith('ran-'));
}

/** Rejects when `promise` has not settled within `ms` (the code before this change hung forever). */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

type Mode = readonly [name: 'unsandboxed' | 'in bwrap', options: () => Promise<GitOptions>];
const MODES: Mode[] = [
  ['unsandboxed', async () => ({})],
  ...(BWRAP_WORKS
    ? [['in bwrap', async () => ({ sandbox: decideSandbox('bwrap', await detectBwrap()) })] as Mode]
    : []),
];

describe.each(MODES)('the worker’s git, %s', (mode, optionsOf) => {
  it('runs no clean filter planted in .git/config and copies no secret into the checkpoint or the commit', async () => {
    const root = await project();
    const { envFile, token } = secrets();
    const mark = path.join(root, '.git');
    plant(
      root,
      [
        '[filter "x"]',
        `\tclean = "cat '${envFile}'; echo x >> '${mark}/ran-clean'"`,
        '\trequired = true',
        // a driver's name may hold dots and `=`: it is still found and switched off
        '[filter "odd=name.with.dots"]',
        `\tclean = "cat '${envFile}'; echo odd >> '${mark}/ran-odd'"`,
        '[filter "p"]',
        `\tprocess = "sh -c 'echo p >> ${mark}/ran-process'"`,
        '',
      ].join('\n'),
    );
    write(root, '.gitattributes', '*.txt filter=x\n*.md filter=odd=name.with.dots\n*.js filter=p\n');
    const options = await optionsOf();
    const checkpoint = await beginRun(root, options);
    write(root, 'a.txt', 'the run\n');
    write(root, 'notes.md', 'the run’s notes\n');
    write(root, 'code.js', 'run();\n');
    const commit = await commitRun(root, checkpoint, runCommitMessage('edit'), options);
    expect(commit?.files).toEqual(['a.txt', 'code.js', 'notes.md']);
    expect(git(root, 'cat-file', 'blob', 'HEAD:a.txt')).toBe('the run\n');
    expect(git(root, 'cat-file', 'blob', 'HEAD:notes.md')).toBe('the run’s notes\n');
    expect(allObjects(root)).not.toContain(token);
    expect(ran(root)).toEqual([]);
  });

  it('keeps core.worktree from putting the state folder into the checkpoint or the commit', async () => {
    const root = await project();
    const { stateDir, row } = secrets();
    git(root, 'config', 'core.worktree', stateDir);
    const options = await optionsOf();
    const checkpoint = await beginRun(root, options);
    write(root, 'a.txt', 'the run\n');
    const commit = await commitRun(root, checkpoint, runCommitMessage('edit'), options);
    expect(commit?.files).toEqual(['a.txt']);
    expect(git(root, 'ls-tree', '-r', '--name-only', checkpoint.tree).split('\n').filter(Boolean)).toEqual([
      'a.txt',
      'b.txt',
    ]);
    expect(allObjects(root)).not.toContain(row);
  });

  it('commits in a repository whose config says core.bare = true', async () => {
    const root = await project();
    git(root, 'config', 'core.bare', 'true');
    const options = await optionsOf();
    const checkpoint = await beginRun(root, options);
    write(root, 'a.txt', 'the run\n');
    expect(await commitRun(root, checkpoint, runCommitMessage('edit'), options)).toMatchObject({
      files: ['a.txt'],
    });
  });

  it('is held up by no filter that never ends (`sleep 1000`), and leaves no process behind', async () => {
    const root = await project();
    const sleep = marker('1000');
    // `sleep 1000.<random>`: a sleep of 1000 s this test can tell from any other
    const seconds = `1000.${sleep.split('-')[1]!.replace(/[a-f]/g, '1')}`;
    plant(root, `[filter "slow"]\n\tclean = sleep ${seconds}\n\tsmudge = sleep ${seconds}\n`);
    write(root, '.gitattributes', '* filter=slow\n');
    const options = { ...(await optionsOf()), timeoutMs: 3000 };
    // a call that waited for the filter would time out and reject: the commit resolving is the proof
    const commit = await within(
      15_000,
      (async () => {
        const checkpoint = await beginRun(root, options);
        write(root, 'a.txt', 'the run\n');
        return commitRun(root, checkpoint, runCommitMessage('edit'), options);
      })(),
    );
    expect(commit?.files).toEqual(['a.txt']);
    expect(pidsWith(`sleep ${seconds}`)).toEqual([]);
  });

  it('kills a git that does not end at the time limit, with its whole process group', async () => {
    const root = await project();
    // a config that is a FIFO: git waits in open() for a writer that never comes
    fs.rmSync(path.join(root, '.git', 'config'));
    execFileSync('mkfifo', [path.join(root, '.git', 'config')]);
    const started = Date.now();
    const error = await within(
      5000,
      runGit(root, ['status'], {}, { ...(await optionsOf()), timeoutMs: 500 }).then(
        () => null,
        (err: unknown) => err,
      ),
    );
    expect(error).toBeInstanceOf(GitError);
    expect(error).toMatchObject({
      kind: 'timeout',
      message: 'git config took longer than 0.5 s and was stopped',
    });
    expect(Date.now() - started).toBeLessThan(4000);
    // neither git nor bwrap (whose arguments name the project too) is left
    expect(pidsWith(root)).toEqual([]);
  });

  it('ends a running git at once when its signal aborts, and starts none on an aborted signal', async () => {
    const root = await project();
    fs.rmSync(path.join(root, '.git', 'config'));
    execFileSync('mkfifo', [path.join(root, '.git', 'config')]);
    const options = await optionsOf();
    const controller = new AbortController();
    setTimeout(() => controller.abort('stopped by the user'), 300);
    const started = Date.now();
    const error = await within(
      5000,
      runGit(root, ['status'], {}, { ...options, signal: controller.signal }).then(
        () => null,
        (err: unknown) => err,
      ),
    );
    expect(error).toMatchObject({ kind: 'aborted' });
    // SIGTERM ends git; SIGKILL follows a second later only if something ignored it
    expect(Date.now() - started).toBeLessThan(3000);
    expect(pidsWith(root)).toEqual([]);
    await expect(
      runGit(root, ['status'], {}, { ...options, signal: controller.signal }),
    ).rejects.toMatchObject({
      kind: 'aborted',
    });
  });

  // in bwrap the PID namespace ends with git, and all that runs in it: only unsandboxed can a
  // process git started outlive it
  (mode === 'unsandboxed' ? it : it.skip)(
    'kills what git left running in its process group when it exits',
    async () => {
      const root = await project();
      // `credential-cache store` starts a daemon that outlives it (HOME is the project)
      const out = await within(
        8000,
        runGit(
          root,
          ['credential-cache', 'store'],
          { input: 'protocol=https\nhost=example.org\nusername=u\npassword=p\n\n' },
          await optionsOf(),
        ),
      );
      expect(out.code).toBe(0);
      expect(pidsWith(`${root}/.cache/git/credential/socket`)).toEqual([]);
    },
  );

  it('runs no program the config names at checkpoint, commit, /diff or /undo', async () => {
    const root = await project();
    const mark = path.join(root, '.git');
    const script = (what: string): string => `sh -c 'echo ${what} >> ${mark}/ran-${what}; cat' --`;
    fs.mkdirSync(path.join(root, 'hooks'));
    for (const dir of [path.join(mark, 'hooks'), path.join(root, 'hooks')]) {
      for (const hook of ['reference-transaction', 'post-index-change', 'pre-commit', 'post-commit']) {
        fs.writeFileSync(path.join(dir, hook), `#!/bin/sh\necho ${hook} >> ${mark}/ran-hook-${hook}\n`, {
          mode: 0o755,
        });
      }
    }
    plant(
      root,
      [
        '[core]',
        `\tfsmonitor = "${mark}/fsmonitor"`,
        `\thooksPath = ${path.join(root, 'hooks')}`,
        '[diff]',
        `\texternal = "${script('external')}"`,
        '[diff "t"]',
        `\ttextconv = "${script('textconv')}"`,
        `\tcommand = "${script('diffcommand')}"`,
        '[merge "m"]',
        `\tdriver = "${script('merge')}"`,
        '[filter "p"]',
        `\tprocess = "${script('process')}"`,
        '[alias]',
        `\tcat-file = "!${script('alias')}"`,
        '',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(mark, 'fsmonitor'), `#!/bin/sh\necho fsmonitor >> ${mark}/ran-fsmonitor\n`, {
      mode: 0o755,
    });
    write(root, '.gitattributes', '*.txt diff=t merge=m filter=p\n');
    const options = await optionsOf();
    // the person's uncommitted edit of a.txt makes the commit and /undo merge the file (merge-file)
    write(root, 'a.txt', 'a1 person\na2\na3\na4\na5\n');
    const checkpoint = await beginRun(root, options);
    write(root, 'a.txt', 'a1 person\na2\na3\na4\na5 run\n');
    write(root, 'b.txt', 'b1\nb2 run\nb3\nb4\nb5\n');
    const commit = await commitRun(root, checkpoint, runCommitMessage('edit'), options);
    expect(commit).toMatchObject({ files: ['a.txt', 'b.txt'], includedPersonEdits: [] });
    const diff = await lastRunDiff(root, options);
    expect(diff?.diff).toContain('-b2\n+b2 run\n');
    expect(await undoLast(root, options)).toMatchObject({ kind: 'reverted' });
    expect(fs.readFileSync(path.join(root, 'a.txt'), 'utf8')).toBe('a1 person\na2\na3\na4\na5\n');
    expect(ran(root)).toEqual([]);
  });

  it('runs no filter of a nested repository whose files changed', async () => {
    const root = await project();
    const sub = path.join(root, 'vendor', 'lib');
    fs.mkdirSync(sub, { recursive: true });
    git(sub, 'init', '-q');
    write(sub, 'lib.txt', 'SAME\n');
    git(sub, 'add', '-A');
    git(sub, 'commit', '-qm', 'lib');
    git(root, 'add', '-A'); // a gitlink in the person's index
    git(root, 'commit', '-qm', 'vendor lib');
    // then the nested repository's config and attributes name a filter, and a file changes
    // without changing size, so `git status` in it would have to hash it through the filter
    const mark = path.join(root, '.git', 'ran-nested');
    plant(sub, `[filter "n"]\n\tclean = "echo n >> '${mark}'; cat"\n`);
    write(sub, '.gitattributes', '* filter=n\n');
    write(sub, 'lib.txt', 'SAMF\n');
    fs.utimesSync(path.join(sub, 'lib.txt'), new Date('2001-01-01'), new Date('2001-01-01'));
    const options = await optionsOf();
    const checkpoint = await beginRun(root, options);
    write(root, 'a.txt', 'the run\n');
    expect(await commitRun(root, checkpoint, runCommitMessage('edit'), options)).toMatchObject({
      files: ['a.txt'],
    });
    expect(ran(root)).toEqual([]);
  });

  it('fetches no missing object (a "partial clone" would run the remote’s upload-pack)', async () => {
    const root = await project();
    // HEAD becomes a commit whose tree is missing, then the config makes the repository a partial clone
    const commit = execFileSync(
      'git',
      ['-C', root, 'hash-object', '-t', 'commit', '--literally', '-w', '--stdin'],
      {
        input: `tree ${'1'.repeat(40)}\nauthor a <a@b> 0 +0000\ncommitter a <a@b> 0 +0000\n\nmissing tree\n`,
        encoding: 'utf8',
      },
    ).trim();
    git(root, 'update-ref', 'HEAD', commit);
    plant(
      root,
      [
        '[core]',
        '\trepositoryformatversion = 1',
        '[extensions]',
        '\tpartialClone = origin',
        '[remote "origin"]',
        `\turl = ${root}`,
        '\tpromisor = true',
        // set already, so the fetch need not write it into a config bwrap mounts read-only
        '\tpartialclonefilter = blob:none',
        `\tuploadpack = "echo fetch >> '${root}/.git/ran-uploadpack'; false"`,
        '',
      ].join('\n'),
    );
    await expect(beginRun(root, await optionsOf())).rejects.toBeInstanceOf(GitError);
    expect(ran(root)).toEqual([]);
  });

  it('refuses a project whose .git points at another repository (a file, or a commondir)', async () => {
    const other = await project();
    const root = path.join(dirs.make(), 'project');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, '.git'), `gitdir: ${path.join(other, '.git')}\n`);
    const options = await optionsOf();
    await expect(runGit(root, ['rev-parse', 'HEAD'], {}, options)).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/its \.git is a file or a link/),
    });
    const common = await project();
    fs.writeFileSync(path.join(common, '.git', 'commondir'), `${path.join(other, '.git')}\n`);
    await expect(beginRun(common, options)).rejects.toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/commondir/),
    });
  });

  it(
    mode === 'unsandboxed'
      ? 'refuses a config that includes another file, which it would read as the worker'
      : 'switches off a filter that an included file defines (the include is read in the sandbox)',
    async () => {
      const root = await project();
      const mark = path.join(root, '.git', 'ran-included');
      write(root, 'included.cfg', `[filter "inc"]\n\tclean = "echo inc >> '${mark}'; cat"\n`);
      git(root, 'add', 'included.cfg');
      git(root, 'commit', '-qm', 'a config file of the project');
      plant(root, '[include]\n\tpath = ../included.cfg\n');
      write(root, '.gitattributes', '* filter=inc\n');
      const options = await optionsOf();
      if (mode === 'unsandboxed') {
        await expect(beginRun(root, options)).rejects.toMatchObject({
          kind: 'refused',
          message: expect.stringMatching(/its config includes another file \(include\.path\)/),
        });
      } else {
        const checkpoint = await beginRun(root, options);
        write(root, 'a.txt', 'the run\n');
        expect(await commitRun(root, checkpoint, runCommitMessage('edit'), options)).toMatchObject({
          files: ['a.txt'],
        });
      }
      expect(fs.existsSync(mark)).toBe(false);
    },
  );
});

(BWRAP_WORKS ? describe : describe.skip)(
  'the worker’s git in bwrap (skipped where bwrap does not work)',
  () => {
    it('creates a new project’s repository, though bwrap mounts .git/config read-only', async () => {
      const root = path.join(dirs.make(), 'new');
      await ensureRepo(root, { sandbox: decideSandbox('bwrap', await detectBwrap()) });
      expect(git(root, 'config', '--local', 'user.name').trim()).toBe('autonous');
    });
  },
);

describe('a run through the worker (AGENT_SANDBOX=off: bash can write .git/config)', () => {
  const h = useWorkerHarness();
  const UNSANDBOXED = { AGENT_APPROVAL: 'never', AGENT_SANDBOX: 'off', AGENT_GIT_TIMEOUT_SECONDS: '1' };

  function toolResults(req: ChatCompletionRequest): string[] {
    return req.messages.filter((m: ChatMessage) => m.role === 'tool').map((m) => String(m.content));
  }

  function projectRoot(): string {
    return path.join(path.dirname(h.dbPath), 'workspaces', 'default');
  }

  it('answers and commits the file as written when bash planted a `sleep 1000` filter', async () => {
    const sleep = marker('1000');
    const seconds = `1000.${sleep.split('-')[1]!.replace(/[a-f]/g, '2')}`;
    h.openai.script([
      {
        toolCalls: [
          {
            name: 'bash',
            arguments: {
              command: `git config filter.slow.clean 'sleep ${seconds}' && echo '* filter=slow' > .gitattributes && echo planted > planted.txt && echo ok`,
            },
          },
        ],
      },
      (req) => `planted: ${toolResults(req).at(-1)!.trim().split('\n').at(-1)}`,
    ]);
    await h.start(UNSANDBOXED);
    h.telegram.pushMessage(101, 'plant a filter');
    await h.telegram.waitFor(
      () => h.telegram.sentTo(101).some((m) => m.text.startsWith('planted')),
      15_000,
      'the answer',
    );
    const answer = h.telegram.sentTo(101).find((m) => m.text.startsWith('planted'))!.text;
    expect(answer).toMatch(/^planted: ok\n\nCommitted the run's changes \(2 files\) as [0-9a-f]{8}/);
    expect(git(projectRoot(), 'cat-file', 'blob', 'HEAD:planted.txt')).toBe('planted\n');
    expect(pidsWith(`sleep ${seconds}`)).toEqual([]);
  });

  it('answers with a line saying the commit was skipped when git runs out of time', async () => {
    h.openai.script([
      {
        toolCalls: [
          {
            name: 'bash',
            arguments: {
              // a config git waits on forever: a FIFO nobody writes
              command: 'echo changed > changed.txt && rm .git/config && mkfifo .git/config && echo ok',
            },
          },
        ],
      },
      'changed it',
    ]);
    await h.start(UNSANDBOXED);
    h.telegram.pushMessage(101, 'change something');
    await h.telegram.waitFor(
      () => h.telegram.sentTo(101).some((m) => m.text.startsWith('changed it')),
      15_000,
      'the answer',
    );
    const answer = h.telegram.sentTo(101).find((m) => m.text.startsWith('changed it'))!.text;
    expect(answer).toBe(
      "changed it\n\nThe run's changes were not committed (git config took longer than 1 s and was stopped): /undo cannot take them back.",
    );
    await h.settled();
    expect(h.rows(`SELECT status FROM inbox WHERE lane = 'answer'`)).toEqual([{ status: 'done' }]);
    expect(h.log.lines.some((l) => l.startsWith("warn the run's changes were not committed"))).toBe(true);
    expect(h.rows(`SELECT key FROM kv WHERE key LIKE '%checkpoint%'`)).toEqual([]);
    await waitUntil(
      () => pidsWith(projectRoot()).length === 0,
      2000,
      () => `git left running: ${pidsWith(projectRoot()).join(',')}`,
    );
  });
});
