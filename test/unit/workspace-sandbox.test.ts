import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutputTail } from '../../src/workspace/output-tail';
import { bwrapArgs, commandEnv, decideSandbox, detectBwrap, findOnPath } from '../../src/workspace/sandbox';
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
    expect(env).toEqual({ PATH: '/bin', HOME: '/p', LANG: 'de_DE.UTF-8', TZ: 'Europe/Berlin' });
  });

  it('fills PATH and LANG when the worker has none, and leaves TZ out', () => {
    expect(commandEnv({}, '/p')).toEqual({
      PATH: expect.stringContaining('/usr/bin'),
      HOME: '/p',
      LANG: 'C.UTF-8',
    });
  });
});

describe('bwrapArgs', () => {
  it('unshares the network unless asked, binds / read-only and the project read-write, clears the env', () => {
    const args = bwrapArgs({ root: '/p', env: { PATH: '/bin', HOME: '/p' } });
    expect(args).toContain('--unshare-all');
    expect(args).not.toContain('--share-net');
    expect(args).not.toContain('--new-session');
    expect(args.join(' ')).toContain('--ro-bind / / --dev /dev --proc /proc --tmpfs /tmp');
    expect(args.join(' ')).toContain(
      '--bind /p /p --chdir /p --clearenv --setenv PATH /bin --setenv HOME /p',
    );
    expect(bwrapArgs({ root: '/p', env: {}, network: true })).toContain('--share-net');
  });

  it('hides an existing folder under a tmpfs and a file under /dev/null, before the project is bound', () => {
    const base = dirs.make('.autonous-hide-', os.homedir());
    const file = path.join(base, 'x.env');
    fs.writeFileSync(file, '');
    const args = bwrapArgs({ root: '/p', env: {}, hide: [base, file, path.join(base, 'missing')] }).join(' ');
    expect(args).toContain(`--tmpfs ${base} --ro-bind /dev/null ${file} --bind /p /p`);
    expect(args).not.toContain('missing');
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
