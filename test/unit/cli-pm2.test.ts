/**
 * `readPm2` (status, doctor) lists the PM2 daemon of the PM2_HOME it is given, through the one
 * PM2 client, which speaks pm2's RPC protocol: here a daemon double on that home's `rpc.sock`
 * answers as PM2's would, and a home with no daemon is reported unreachable, never started.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readPm2 } from '../../src/cli/pm2';

/* eslint-disable @typescript-eslint/no-require-imports */
const axon = require('pm2/modules/pm2-axon') as {
  socket(type: 'rep'): {
    bind(path: string): void;
    on(event: 'bind', listener: () => void): void;
    close(cb?: () => void): void;
  };
};
const rpc = require('pm2/modules/pm2-axon-rpc') as {
  Server: new (sock: unknown) => { expose(name: string, fn: (...args: unknown[]) => void): void };
};
/* eslint-enable @typescript-eslint/no-require-imports */

const NOW = 1_700_000_000_000;
let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join('/tmp', 'a2p-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

/** A PM2 daemon double that answers `getMonitorData` with `apps` and records the calls. */
async function fakeDaemon(apps: unknown[]): Promise<{ calls: string[]; close(): Promise<void> }> {
  const calls: string[] = [];
  const rep = axon.socket('rep');
  const server = new rpc.Server(rep);
  server.expose('getMonitorData', (_arg: unknown, reply: unknown) => {
    calls.push('getMonitorData');
    (reply as (err: null, list: unknown[]) => void)(null, apps);
  });
  // axon drops bind's callback for a unix socket: its `bind` event says it listens
  await new Promise<void>((resolve) => {
    rep.on('bind', resolve);
    rep.bind(path.join(home, 'rpc.sock'));
  });
  return { calls, close: () => new Promise((resolve) => rep.close(() => resolve())) };
}

describe('readPm2', () => {
  it('lists the daemon of the PM2_HOME it is given, without the apps’ environments', async () => {
    const daemon = await fakeDaemon([
      {
        name: 'autonous-worker',
        pid: 42,
        pm_id: 0,
        monit: { memory: 1024, cpu: 3 },
        pm2_env: {
          name: 'autonous-worker',
          status: 'online',
          restart_time: 2,
          pm_uptime: NOW - 5000,
          TELEGRAM_BOT_TOKEN: '123456:secret-token-secret-token-secret',
        },
      },
    ]);
    try {
      const snapshot = await readPm2({ PM2_HOME: home }, NOW, 2000);
      expect(snapshot).toEqual({
        reachable: true,
        home,
        apps: [
          {
            name: 'autonous-worker',
            status: 'online',
            restarts: 2,
            uptimeMs: 5000,
            memoryBytes: 1024,
            cpuPercent: 3,
            pid: 42,
          },
        ],
      });
      expect(daemon.calls).toEqual(['getMonitorData']);
    } finally {
      await daemon.close();
    }
  });

  it('says no daemon answers in a home without one, and starts none', async () => {
    const snapshot = await readPm2({ PM2_HOME: home }, NOW, 500);
    expect(snapshot).toEqual({
      reachable: false,
      home,
      error: `no PM2 daemon answers on ${path.join(home, 'rpc.sock')}`,
    });
    expect(fs.readdirSync(home)).toEqual([]);
  });
});
