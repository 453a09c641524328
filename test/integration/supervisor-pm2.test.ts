/**
 * The PM2 adapter against the real PM2 (a sandboxed daemon) running a trivial app named like the
 * worker: what the bus reports, and restart/stop/signal in the states that trip PM2 up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPm2Sandbox, type Pm2Sandbox } from '../helpers/pm2-sandbox';
import { waitUntil } from '../helpers/wait-until';
import { connectPm2, Pm2UnreachableError } from '../../src/shared/pm2/client';
import type { LifecycleEvent, ProcessManager } from '../../src/supervisor-hooks/process-manager';

const APP = 'autonous-worker';
jest.setTimeout(60_000);

let dir: string;
let sandbox: Pm2Sandbox;
let pm: ProcessManager;
const events: LifecycleEvent[] = [];
const modeFile = (): string => path.join(dir, 'mode');

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-test-'));
  fs.writeFileSync(modeFile(), 'ok');
  // runs until told to crash: `crash` makes every start die after 150 ms
  fs.writeFileSync(
    path.join(dir, 'app.js'),
    `const mode = require('fs').readFileSync(${JSON.stringify(modeFile())}, 'utf8').trim();
     if (mode === 'crash') setTimeout(() => { throw new Error('boom'); }, 150);
     setInterval(() => {}, 1000);
     process.on('SIGINT', () => process.exit(0));`,
  );
  fs.writeFileSync(
    path.join(dir, 'app.config.js'),
    `module.exports = { apps: [{ name: '${APP}', script: ${JSON.stringify(path.join(dir, 'app.js'))},
       exp_backoff_restart_delay: 800, kill_timeout: 2000, stop_exit_codes: [78] }] };`,
  );
  sandbox = await startPm2Sandbox({
    env: { SECRET_FOR_TEST: 'hunter2-hunter2' },
    ecosystem: path.join(dir, 'app.config.js'),
  });
  await sandbox.waitOnline(APP);
  pm = await connectPm2({ env: { ...process.env, PM2_HOME: sandbox.home } });
  await pm.subscribe(
    (e) => events.push(e),
    () => undefined,
  );
});

afterAll(async () => {
  await pm?.close();
  await sandbox?.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

const since = (n: number): LifecycleEvent[] => events.slice(n).filter((e) => e.app.name === APP);
const waitEvents = (what: string, predicate: () => boolean): Promise<void> =>
  waitUntil(
    predicate,
    20_000,
    () =>
      `timed out waiting for ${what}; events: ${JSON.stringify(events.map((e) => [e.event, e.app.status]))}`,
  );

describe('PM2 adapter', () => {
  it('lists the app without its environment', async () => {
    const [app] = (await pm.list()).filter((a) => a.name === APP);
    expect(app).toMatchObject({ name: APP, status: 'online', execPath: path.join(dir, 'app.js') });
    expect(app?.pid).toBeGreaterThan(0);
    expect(JSON.stringify(app)).not.toContain('hunter2');
  });

  it('reports a crash as exit (stopped) then online, with the run start and the exit code', async () => {
    const n = events.length;
    const before = await sandbox.proc(APP);
    await sandbox.killProcess(APP, 'SIGKILL');
    await waitEvents('exit and online', () => since(n).some((e) => e.event === 'online'));
    const [exit, online] = since(n);
    expect(exit).toMatchObject({
      event: 'exit',
      manual: false,
      app: { status: 'stopped', startedAt: before?.pm_uptime },
    });
    expect(online).toMatchObject({ event: 'online', app: { status: 'launching' } });
    expect(online?.app.startedAt).toBeGreaterThan(before?.pm_uptime ?? 0);
    expect(JSON.stringify(since(n))).not.toContain('hunter2');
  });

  it('reports a restart by command as exit (stopping), exit again, online, restart (manual)', async () => {
    const n = events.length;
    await pm.restart(APP);
    await waitEvents('restart', () => since(n).some((e) => e.event === 'restart'));
    expect(since(n).map((e) => [e.event, e.app.status, e.manual])).toEqual([
      ['exit', 'stopping', false],
      ['exit', 'stopped', false],
      ['online', 'launching', false],
      ['restart', 'online', true],
    ]);
  });

  it('restarts an app that waits for PM2 to restart it after a crash', async () => {
    fs.writeFileSync(modeFile(), 'crash');
    await pm.restart(APP);
    await sandbox.waitFor(
      (ps) => ps.some((p) => p.name === APP && p.status === 'waiting restart'),
      20_000,
      'waiting restart',
    );
    fs.writeFileSync(modeFile(), 'ok');
    await pm.restart(APP); // plain `pm2 restart` refuses this: "Process with pid ... already exists"
    const app = await sandbox.waitOnline(APP);
    // and the pending automatic restart did not start a second copy
    await new Promise((r) => setTimeout(r, 1500));
    expect((await sandbox.proc(APP))?.pid).toBe(app.pid);
  });

  it('stops an app in any state, and sends it signals', async () => {
    fs.writeFileSync(modeFile(), 'crash');
    await pm.restart(APP);
    await sandbox.waitFor(
      (ps) => ps.some((p) => p.name === APP && p.status === 'waiting restart'),
      20_000,
      'waiting restart',
    );
    await pm.stop(APP);
    expect((await sandbox.proc(APP))?.status).toBe('stopped');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await sandbox.proc(APP))?.status).toBe('stopped');
    fs.writeFileSync(modeFile(), 'ok');
    await pm.restart(APP);
    const { pid } = await sandbox.waitOnline(APP);
    await pm.signal(APP, 'SIGKILL');
    await sandbox.waitFor(
      (ps) => ps.some((p) => p.name === APP && p.status === 'online' && p.pid !== pid),
      20_000,
      'a new pid',
    );
  });

  it('never starts a daemon: says none answers', async () => {
    const empty = fs.mkdtempSync(path.join('/tmp', 'a2n-'));
    try {
      await expect(connectPm2({ env: { PM2_HOME: empty } })).rejects.toBeInstanceOf(Pm2UnreachableError);
      expect(fs.existsSync(path.join(empty, 'pm2.pid'))).toBe(false);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
