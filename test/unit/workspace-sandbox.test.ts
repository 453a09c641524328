import fs from 'node:fs';
import path from 'node:path';
import { OutputTail } from '../../src/workspace/output-tail';
import {
  bwrapArgs,
  commandEnv,
  decideSandbox,
  detectBwrap,
  findOnPath,
  prepareGitMounts,
} from '../../src/workspace/sandbox';
import {
  heldProtectedPlace,
  projectFolderError,
  readFolderError,
  sandboxPolicy,
} from '../../src/workspace/sandbox-policy';
import { tempDirs } from '../helpers/temp-dir';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

describe('decideSandbox', () => {
  it('uses bwrap when it works, unless AGENT_SANDBOX=off', () => {
    expect(decideSandbox('auto', '/usr/bin/bwrap')).toMatchObject({
      kind: 'bwrap',
      sandboxed: true,
      bwrap: '/usr/bin/bwrap',
    });
    expect(decideSandbox('bwrap', '/usr/bin/bwrap')).toMatchObject({ kind: 'bwrap', sandboxed: true });
    expect(decideSandbox('off', '/usr/bin/bwrap')).toMatchObject({ kind: 'plain', sandboxed: false });
  });

  it('runs unsandboxed under auto without bwrap and says so', () => {
    const decision = decideSandbox('auto', null);
    expect(decision).toMatchObject({ kind: 'plain', sandboxed: false });
    expect(decision.note).toMatch(/unsandboxed: bwrap is missing/);
  });

  it('in a container, names the engine flags that let bwrap start instead of a package to install', () => {
    const decision = decideSandbox('auto', null, undefined, true);
    expect(decision).toMatchObject({ kind: 'plain', sandboxed: false });
    expect(decision.note).toMatch(/unsandboxed: .*--security-opt unmask=\/proc\/\* \(podman\)/);
    expect(decideSandbox('bwrap', null, undefined, true).note).toMatch(/systempaths=unconfined \(docker\)/);
  });

  it('refuses to run anything under AGENT_SANDBOX=bwrap without bwrap', () => {
    expect(decideSandbox('bwrap', null)).toMatchObject({ kind: 'refuse', sandboxed: false });
    expect(decideSandbox('bwrap', null).note).toMatch(/AGENT_SANDBOX=bwrap but bwrap is missing/);
  });
});

describe('commandEnv', () => {
  it('passes only PATH, LANG and TZ on, with HOME set to the project', () => {
    const env = commandEnv(
      {
        PATH: '/bin',
        LANG: 'de_DE.UTF-8',
        TZ: 'Europe/Berlin',
        TELEGRAM_BOT_TOKEN: 't',
        OPENAI_API_KEY: 'k',
        HOME: '/root',
      },
      '/p',
    );
    expect(env).toEqual({
      PATH: '/bin',
      HOME: '/p',
      LANG: 'de_DE.UTF-8',
      TZ: 'Europe/Berlin',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    });
  });

  it('fills PATH and LANG when the worker has none, and leaves TZ out', () => {
    expect(commandEnv({}, '/p')).toEqual({
      PATH: expect.stringContaining('/usr/bin'),
      HOME: '/p',
      LANG: 'C.UTF-8',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    });
  });

  it('gives an unsandboxed command a HOME outside the project', () => {
    expect(commandEnv({}, '/p', '/runs/1/home').HOME).toBe('/runs/1/home');
  });
});

describe('bwrapArgs', () => {
  const policy = (over: Partial<Parameters<typeof sandboxPolicy>[0]> = {}) =>
    sandboxPolicy({
      protect: {
        stateDir: '/srv/autonous/state',
        envFile: '/srv/autonous/.env',
        checkout: '/srv/autonous',
        pm2Home: '/srv/pm2',
        home: '/home/someone',
      },
      asRoot: false,
      ...over,
    });

  it("mounts a project's own read-only folders in that project only, over a folder made for them, never through a link planted there", () => {
    const root = dirs.make();
    const other = dirs.make();
    const packages = dirs.make();
    const target = path.join(root, 'node_modules');
    // a link where the mount point goes would lead the mount to its target
    fs.symlinkSync(other, target);
    const p = policy({ projectReads: { [root]: [{ source: packages, target }] } });
    const line = bwrapArgs({ root, env: {}, policy: p }).join(' ');
    expect(line).toContain(`--bind ${root} ${root}`);
    expect(line).toContain(`--ro-bind ${packages} ${target}`);
    expect(line.indexOf(`--ro-bind ${packages}`)).toBeGreaterThan(line.indexOf(`--bind ${root} ${root}`));
    expect(fs.lstatSync(target).isDirectory()).toBe(true);
    expect(fs.existsSync(other)).toBe(true); // the link was removed, not what it pointed at
    expect(bwrapArgs({ root: other, env: {}, policy: p }).join(' ')).not.toContain(packages);
  });

  it('mounts an allowlist: system folders read-only, never / itself, the project read-write, a clear env', () => {
    const args = bwrapArgs({ root: '/p', env: { PATH: '/bin', HOME: '/p' }, policy: policy() });
    expect(args).toContain('--unshare-all');
    expect(args).not.toContain('--share-net');
    expect(args).not.toContain('--new-session');
    const line = args.join(' ');
    expect(line).not.toMatch(/--ro-bind \/ \//);
    expect(line).toContain('--ro-bind /usr /usr');
    expect(line).toContain('--ro-bind /etc /etc');
    expect(line).toContain('--cap-drop ALL');
    expect(line).toContain('--dev /dev --proc /proc --tmpfs /tmp --bind /p /p');
    expect(line).toContain('--chdir /p --clearenv --setenv PATH /bin --setenv HOME /p');
    expect(line).not.toMatch(/\/home|\/root|\/run|\/var/);
    expect(bwrapArgs({ root: '/p', env: {}, network: true, policy: policy() })).toContain('--share-net');
  });

  it('as root, runs the command as uid 65534 in a user namespace of its own', () => {
    const line = bwrapArgs({ root: '/p', env: {}, policy: policy({ asRoot: true }) }).join(' ');
    expect(line).toContain('--unshare-user --uid 65534 --gid 65534 --cap-drop ALL');
    expect(bwrapArgs({ root: '/p', env: {}, policy: policy() }).join(' ')).not.toContain('--uid');
  });

  it('keeps a symlinked top-level folder (/bin -> usr/bin) a symlink', () => {
    const bin = fs.lstatSync('/bin');
    const line = bwrapArgs({ root: '/p', env: {}, policy: policy() }).join(' ');
    if (bin.isSymbolicLink()) expect(line).toContain(`--symlink ${fs.readlinkSync('/bin')} /bin`);
    else expect(line).toContain('--ro-bind /bin /bin');
  });

  it('binds .git as a mount point and its config, hooks and info read-only after the project, so a command cannot plant code', () => {
    const root = dirs.make();
    fs.mkdirSync(path.join(root, '.git'));
    fs.writeFileSync(path.join(root, '.git', 'config'), '');
    prepareGitMounts(root);
    const line = bwrapArgs({ root, env: {}, policy: policy() }).join(' ');
    const g = path.join(root, '.git');
    expect(line).toContain(
      `--bind ${root} ${root} --bind ${g} ${g} --ro-bind ${g}/config ${g}/config --ro-bind ${g}/hooks ${g}/hooks --ro-bind ${g}/info ${g}/info`,
    );
  });

  it('hides the protected places a readable folder holds, and never binds over /dev/null itself', () => {
    const base = dirs.make('autonous-opt-', '/opt');
    const env = path.join(base, '.env');
    fs.writeFileSync(env, '');
    fs.mkdirSync(path.join(base, 'state'));
    const p = sandboxPolicy({
      protect: {
        stateDir: path.join(base, 'state'),
        envFile: env,
        checkout: base,
        pm2Home: '/nope',
        home: '/nope',
      },
      asRoot: false,
    });
    const line = bwrapArgs({ root: '/p', env: {}, policy: p }).join(' ');
    expect(line).toContain(`--tmpfs ${base}`);
    // /dev/null as "the env file" (a way to say "none") hides nothing and breaks nothing
    const devNull = sandboxPolicy({
      protect: {
        stateDir: '/nope',
        envFile: '/dev/null',
        checkout: '/nope2',
        pm2Home: '/nope',
        home: '/nope',
      },
      asRoot: false,
    });
    expect(bwrapArgs({ root: '/p', env: {}, policy: devNull }).join(' ')).not.toContain(
      '/dev/null /dev/null',
    );
  });
});

describe('the protected places', () => {
  const protect = {
    stateDir: '/srv/a/state',
    envFile: '/etc/autonous/env',
    checkout: '/srv/a',
    pm2Home: '/home/u/.pm2',
    home: '/home/u',
  };

  it('refuses a project that holds the state, the env file, the checkout, PM2 home or the home folder', () => {
    expect(projectFolderError('/srv', protect)).toMatch(/holds the state folder/);
    expect(projectFolderError('/etc/autonous', protect)).toMatch(/holds the env file/);
    expect(projectFolderError('/home/u', protect)).toMatch(/holds PM2 home/);
    expect(projectFolderError('/home', protect)).toMatch(/holds PM2 home|holds the home folder/);
  });

  it('refuses a project inside the checkout or the state folder', () => {
    expect(projectFolderError('/srv/a/src', protect)).toMatch(/inside the checkout/);
    expect(projectFolderError('/srv/a/state/x', protect)).toMatch(/inside the state folder/);
  });

  it('lets the workspaces folder lie anywhere that holds no protected place', () => {
    expect(heldProtectedPlace('/srv/a/state/workspaces', protect)).toBeNull();
    expect(heldProtectedPlace('/srv/a/ws', protect)).toBeNull();
    expect(heldProtectedPlace('/', protect)).toMatch(/holds the state folder/);
  });

  it('allows a project of its own, also in the home folder', () => {
    expect(projectFolderError('/home/u/code/app', protect)).toBeNull();
    expect(projectFolderError('/var/lib/app', protect)).toBeNull();
  });

  it('refuses a read folder that holds or lies in a protected place', () => {
    expect(readFolderError('/home/u', protect)).toMatch(/holds PM2 home/);
    expect(readFolderError('/srv/a/node_modules', protect)).toMatch(/inside the checkout/);
    expect(readFolderError('/home/u/.nvm', protect)).toBeNull();
  });
});

describe('detectBwrap', () => {
  it('finds no bwrap on a PATH without one', async () => {
    const empty = dirs.make();
    expect(findOnPath('bwrap', empty)).toBeNull();
    await expect(detectBwrap(empty)).resolves.toBeNull();
  });

  it('finds no working bwrap when the one on PATH fails', async () => {
    const bin = dirs.make();
    fs.writeFileSync(
      path.join(bin, 'bwrap'),
      '#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n',
      {
        mode: 0o755,
      },
    );
    expect(findOnPath('bwrap', bin)).toBe(path.join(bin, 'bwrap'));
    await expect(detectBwrap(bin)).resolves.toBeNull();
  });
});

describe('OutputTail', () => {
  it('keeps everything under the caps', () => {
    const tail = new OutputTail(100, 10);
    tail.push(Buffer.from('a\nb\n'));
    expect(tail.read()).toEqual({ text: 'a\nb\n', truncated: false });
    expect(tail.total).toBe(4);
  });

  it('cuts to the last lines', () => {
    const tail = new OutputTail(1000, 2);
    tail.push(Buffer.from('1\n2\n3\n'));
    expect(tail.read()).toEqual({ text: '2\n3\n', truncated: true });
  });

  it('cuts to the last bytes without starting mid-line or mid-character', () => {
    const tail = new OutputTail(8, 100);
    for (const piece of ['ééééé\n', 'ab\n', 'cd\n']) tail.push(Buffer.from(piece));
    expect(tail.read()).toEqual({ text: 'ab\ncd\n', truncated: true });
    expect(tail.total).toBe(17);
  });

  it('keeps memory bounded by dropping old chunks', () => {
    const tail = new OutputTail(10, 100);
    for (let i = 0; i < 1000; i++) tail.push(Buffer.from('xxxxx\n'));
    expect(tail.read().text).toBe('xxxxx\n');
    expect(tail.total).toBe(6000);
  });
});
