import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isInertSetting, neutralizeNestedRepos } from '../../src/workspace/nested-repos';
import { decideSandbox, detectBwrap, type SandboxDecision } from '../../src/workspace/sandbox';
import { BWRAP_WORKS, tempDirs } from '../helpers/temp-dir';

// A nested repository in a project is an ordinary folder a command can write: the worker reduces
// its config to settings that run nothing, so the person's `git status` (which runs `status` in a
// nested repository once it is a gitlink) runs nothing the agent planted.

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

function git(cwd: string, ...args: string[]): string {
  const out = spawnSync('git', ['-c', 'user.name=p', '-c', 'user.email=p@x', ...args], {
    cwd,
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`git ${args.join(' ')}: ${out.stderr}`);
  return out.stdout;
}

describe('isInertSetting', () => {
  it('allows settings that run nothing, case-insensitive outside the subsection', () => {
    for (const name of [
      'core.repositoryformatversion',
      'core.bare',
      'remote.origin.url',
      'branch.Main.merge',
      'user.email',
    ])
      expect(isInertSetting(name)).toBe(true);
    expect(isInertSetting('Core.FileMode')).toBe(true);
  });

  it('refuses anything else, in particular what runs a program or reads elsewhere', () => {
    for (const name of [
      'core.fsmonitor',
      'core.hookspath',
      'core.worktree',
      'core.sshcommand',
      'filter.x.clean',
      'diff.x.textconv',
      'include.path',
      'includeif.gitdir:/x.path',
      'remote.origin.uploadpack',
      'alias.status',
    ])
      expect(isInertSetting(name)).toBe(false);
  });
});

const MODES: [string, () => Promise<SandboxDecision>][] = [
  ['unsandboxed', async () => decideSandbox('off', null)],
];
if (BWRAP_WORKS) MODES.push(['in bwrap', async () => decideSandbox('bwrap', await detectBwrap())]);

describe.each(MODES)('neutralizeNestedRepos %s', (_name, decision) => {
  it('strips a gitlinked and an untracked nested repository of what would run, and the person runs nothing', async () => {
    const root = dirs.make();
    const outside = dirs.make('.autonous-nested-', os.homedir());
    git(root, 'init', '-q');
    for (const sub of ['linked', 'loose']) {
      git(root, 'init', '-q', sub);
      git(path.join(root, sub), 'commit', '-q', '--allow-empty', '-m', sub);
      git(path.join(root, sub), 'config', 'core.fsmonitor', `touch ${outside}/${sub}-fsmonitor; false`);
      git(path.join(root, sub), 'config', 'filter.x.clean', `touch ${outside}/${sub}-filter; cat`);
      fs.writeFileSync(
        path.join(root, sub, '.git', 'hooks', 'pre-commit'),
        `#!/bin/sh\ntouch ${outside}/hook\n`,
        {
          mode: 0o755,
        },
      );
      fs.writeFileSync(path.join(root, sub, '.git', 'config.worktree'), '[core]\n\tbare = false\n');
    }
    git(root, 'add', 'linked'); // a gitlink in the person's index, as `git add` in a command makes it
    // a commondir leads git to another folder's config (written after the add: before, git would
    // not see a repository there at all)
    fs.writeFileSync(path.join(root, 'linked', '.git', 'commondir'), '../../elsewhere');
    const lines = await neutralizeNestedRepos(root, { sandbox: await decision() });
    expect(lines.sort()).toEqual([
      'linked/.git: removed core.fsmonitor, filter.x.clean, hooks/pre-commit, commondir, config.worktree',
      'loose/.git: removed core.fsmonitor, filter.x.clean, hooks/pre-commit, config.worktree',
    ]);
    // what stays is what git needs
    expect(git(path.join(root, 'linked'), 'config', '--get', 'core.repositoryformatversion').trim()).toBe(
      '0',
    );
    git(root, 'add', '-A');
    git(root, 'status');
    fs.writeFileSync(path.join(root, 'loose', 'f'), 'x');
    git(path.join(root, 'loose'), 'add', 'f');
    git(path.join(root, 'loose'), 'commit', '-qm', 'f');
    expect(fs.readdirSync(outside)).toEqual([]);
    // nothing left to do the second time
    expect(await neutralizeNestedRepos(root, { sandbox: await decision() })).toEqual([]);
  });
});
