import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadWorkerConfig } from '../../src/shared/config';
import { BASE_ENV, configError } from '../helpers/config-env';

// AGENT_APPROVERS, AGENT_PROJECTS and the approval settings of issue 11.

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
