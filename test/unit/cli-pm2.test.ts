/**
 * `readPm2` (status, doctor) lists the PM2 daemon it probed: the one of the PM2_HOME it is given,
 * through an instance of pm2's API bound to that home, never pm2's default instance (bound to
 * the PM2_HOME of this process).
 */
import { readPm2 } from '../../src/cli/pm2';

const calls: string[] = [];

jest.mock('../../src/shared/pm2-daemon', () => ({
  ...jest.requireActual<object>('../../src/shared/pm2-daemon'),
  daemonAnswers: async (env: Record<string, string | undefined>) => {
    calls.push(`probe ${env.PM2_HOME ?? ''}`);
    return true;
  },
}));

jest.mock('pm2', () => {
  type Cb = (err: Error | null, result?: unknown) => void;
  const api = (home: string): object => ({
    Client: {
      launchRPC: (cb: Cb) => {
        calls.push(`launchRPC ${home}`);
        cb(null);
      },
    },
    list: (cb: Cb) => {
      calls.push(`list ${home}`);
      cb(null, [{ name: `app-of-${home}`, pid: 1, pm2_env: { status: 'online', restart_time: 0 } }]);
    },
    disconnect: () => calls.push(`disconnect ${home}`),
    connect: () => calls.push(`connect ${home}`),
  });
  class Custom {
    constructor(opts: { pm2_home: string }) {
      calls.push(`custom ${opts.pm2_home}`);
      Object.assign(this, api(opts.pm2_home));
    }
  }
  return Object.assign(api('the-default-home'), { custom: Custom });
});

beforeEach(() => calls.splice(0));

describe('readPm2', () => {
  it('lists the daemon of the PM2_HOME it probed, through an instance bound to that home', async () => {
    const snapshot = await readPm2({ PM2_HOME: '/probed/home' }, 1000);
    expect(snapshot).toMatchObject({
      reachable: true,
      home: '/probed/home',
      apps: [{ name: 'app-of-/probed/home', status: 'online' }],
    });
    expect(calls).toEqual([
      'probe /probed/home',
      'custom /probed/home',
      'launchRPC /probed/home',
      'list /probed/home',
      'disconnect /probed/home',
    ]);
    // never pm2's default instance, and never `connect` (which starts a daemon when none runs)
    expect(calls.filter((c) => c.includes('the-default-home') || c.startsWith('connect'))).toEqual([]);
  });
});
