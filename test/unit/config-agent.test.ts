import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadWorkerConfig } from '../../src/shared/config';
import { BASE_ENV, configError } from '../helpers/config-env';

// AGENT_APPROVERS, AGENT_PROJECTS and the approval settings.

const BASE = BASE_ENV;

let dir = '';
beforeEach(() => (dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-cfg-')))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('agent configuration', () => {
  it('defaults: on-risk, 1800 s, workspaces beside the database, approvers the private allowed chats', () => {
    const config = loadWorkerConfig({ ...BASE, TG_ALLOWED_CHAT_IDS: '101,-100200,102' });
    expect(config.agent).toMatchObject({
      approval: 'on-risk',
      approvalTimeoutSeconds: 1800,
      workspaces: '/srv/autonous/state/workspaces',
      approvers: [101, 102],
      projects: {},
    });
    expect(loadWorkerConfig({ ...BASE, TG_DB_PATH: '/data/x.db' }).agent.workspaces).toBe('/data/workspaces');
    expect(loadWorkerConfig({ ...BASE, AGENT_WORKSPACES: 'ws' }).agent.workspaces).toBe('/srv/autonous/ws');
  });

  it('takes AGENT_APPROVERS over the allowed chats, and refuses ids that are not users', () => {
    expect(
      loadWorkerConfig({ ...BASE, TG_ALLOWED_CHAT_IDS: '101', AGENT_APPROVERS: '7,8' }).agent.approvers,
    ).toEqual([7, 8]);
    expect(configError({ ...BASE, AGENT_APPROVERS: '7,-100' }).variable).toBe('AGENT_APPROVERS');
    expect(configError({ ...BASE, AGENT_APPROVERS: 'me' }).variable).toBe('AGENT_APPROVERS');
  });

  it('reads AGENT_PROJECTS as names and real absolute folders', () => {
    fs.mkdirSync(path.join(dir, 'site'));
    fs.symlinkSync(path.join(dir, 'site'), path.join(dir, 'link'));
    const config = loadWorkerConfig({ ...BASE, AGENT_PROJECTS: `site=${dir}/site, other-1=${dir}/link` });
    expect(config.agent.projects).toEqual({ site: `${dir}/site`, 'other-1': `${dir}/site` });
  });

  it.each([
    ['a name outside [a-z0-9-]', (d: string) => `Site=${d}`, 'lowercase'],
    ['no name', (d: string) => `${d}`, 'name=/absolute/path'],
    ['a relative path', () => 'site=rel/path', 'must be absolute'],
    ['a missing folder', (d: string) => `site=${d}/missing`, 'does not exist'],
    ['a file', (d: string) => `site=${d}/file`, 'is not a folder'],
    ['a name twice', (d: string) => `site=${d},site=${d}`, 'twice'],
  ])('refuses AGENT_PROJECTS with %s', (_what, value, words) => {
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    const err = configError({ ...BASE, AGENT_PROJECTS: value(dir) });
    expect(err.variable).toBe('AGENT_PROJECTS');
    expect(err.message).toContain(words);
  });

  it('refuses an unknown AGENT_APPROVAL and a zero timeout', () => {
    expect(configError({ ...BASE, AGENT_APPROVAL: 'sometimes' }).variable).toBe('AGENT_APPROVAL');
    expect(configError({ ...BASE, AGENT_APPROVAL_TIMEOUT_SECONDS: '0' }).variable).toBe(
      'AGENT_APPROVAL_TIMEOUT_SECONDS',
    );
    expect(loadWorkerConfig({ ...BASE, AGENT_APPROVAL: 'never' }).agent.approval).toBe('never');
  });
});

describe('the places commands must never see', () => {
  it('refuses an AGENT_PROJECTS folder that holds the state folder, the env file or the checkout, or lies in the checkout', () => {
    const checkout = path.join(dir, 'checkout');
    fs.mkdirSync(path.join(checkout, 'state'), { recursive: true });
    fs.mkdirSync(path.join(checkout, 'src'));
    fs.mkdirSync(path.join(dir, 'secrets'));
    fs.writeFileSync(path.join(dir, 'secrets', '.env'), '');
    const env = {
      ...BASE,
      AUTONOUS_HOME: checkout,
      TG_DB_PATH: path.join(checkout, 'state', 'agent.db'),
      AUTONOUS_ENV_FILE: path.join(dir, 'secrets', '.env'),
    };
    for (const [folder, words] of [
      [checkout, /holds the state folder/],
      [path.join(checkout, 'state'), /holds the state folder/],
      [path.join(dir, 'secrets'), /holds the env file/],
      [path.join(checkout, 'src'), /inside the checkout/],
      [dir, /holds/],
    ] as const) {
      const err = configError({ ...env, AGENT_PROJECTS: `p=${folder}` });
      expect(err.variable).toBe('AGENT_PROJECTS');
      expect(err.message).toMatch(words);
    }
    fs.mkdirSync(path.join(dir, 'app'));
    expect(loadWorkerConfig({ ...env, AGENT_PROJECTS: `p=${dir}/app` }).agent.projects).toEqual({
      p: path.join(dir, 'app'),
    });
  });

  it('reads AGENT_SANDBOX_READ as real absolute folders, refusing a relative, missing or protected one', () => {
    fs.mkdirSync(path.join(dir, 'toolchain'));
    fs.symlinkSync(path.join(dir, 'toolchain'), path.join(dir, 'tc'));
    expect(loadWorkerConfig({ ...BASE, AGENT_SANDBOX_READ: `${dir}/tc` }).agent.sandboxRead).toEqual([
      path.join(dir, 'toolchain'),
    ]);
    expect(loadWorkerConfig(BASE).agent.sandboxRead).toEqual([]);
    expect(configError({ ...BASE, AGENT_SANDBOX_READ: 'relative/bin' }).variable).toBe('AGENT_SANDBOX_READ');
    expect(configError({ ...BASE, AGENT_SANDBOX_READ: `${dir}/missing` }).message).toMatch(/does not exist/);
    const state = path.join(dir, 'state');
    fs.mkdirSync(state);
    const err = configError({
      ...BASE,
      TG_DB_PATH: path.join(state, 'agent.db'),
      AGENT_SANDBOX_READ: dir,
    });
    expect(err.variable).toBe('AGENT_SANDBOX_READ');
    expect(err.message).toMatch(/holds the state folder/);
  });

  it('makes a relative env file absolute', () => {
    const config = loadWorkerConfig({ ...BASE, AUTONOUS_ENV_FILE: 'relative.env' });
    expect(config.agent.envFile).toBe(path.resolve('relative.env'));
  });
});
