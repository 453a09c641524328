import type { Env } from '../shared/env';
import { daemonAnswers, pm2Home, pm2RpcSocket } from '../shared/pm2-daemon';

/** One PM2 app as `status` shows it. */
export interface Pm2App {
  readonly name: string;
  readonly status: string;
  readonly restarts: number;
  /** Since the current start, while online; null otherwise. */
  readonly uptimeMs: number | null;
  readonly memoryBytes: number | null;
  readonly cpuPercent: number | null;
  readonly pid: number | null;
}

/** What the PM2 daemon of `home` says, or why it could not be asked. */
export type Pm2Snapshot =
  | { readonly reachable: true; readonly home: string; readonly apps: readonly Pm2App[] }
  | { readonly reachable: false; readonly home: string; readonly error: string };

// The parts of pm2's API used here. `Client` is pm2's own RPC client: not in its typings, but
// the only way to talk to a running daemon without the risk of starting one (see readPm2).
interface Pm2Description {
  name?: string;
  pid?: number;
  monit?: { memory?: number; cpu?: number };
  pm2_env?: { status?: string; restart_time?: number; pm_uptime?: number };
}
interface Pm2Api {
  Client: { launchRPC(cb: (err: Error | null) => void): void };
  list(cb: (err: Error | null, list: Pm2Description[]) => void): void;
  disconnect(cb?: () => void): void;
}

/**
 * Lists the PM2 apps through pm2's programmatic API, without ever starting a daemon and
 * without hanging. `pm2.connect()` spawns a daemon when none runs, and `connect(true)` (the
 * "no daemon" mode) runs one inside this process instead; both are side effects a status
 * command must not have. So the RPC socket is probed first, pm2 is loaded only when a daemon
 * answers, and its RPC client connects to that daemon directly. Everything is bounded by
 * `timeoutMs`. The daemon listed is the one probed: an instance of pm2's API bound to `env`'s
 * PM2_HOME (`new pm2.custom`), not pm2's default instance, which is bound to the PM2_HOME this
 * process had when pm2 was loaded (doctor reads PM2_HOME from the env file too). Constructing
 * it connects nothing; only `launchRPC` does, to that home's socket, never spawning a daemon.
 */
export async function readPm2(env: Env, now: number, timeoutMs = 3000): Promise<Pm2Snapshot> {
  const home = pm2Home(env);
  if (!(await daemonAnswers(env, timeoutMs))) {
    return { reachable: false, home, error: `no PM2 daemon answers on ${pm2RpcSocket(env)}` };
  }
  const pm2 = (await import('pm2')) as unknown as {
    default: { custom: new (opts: { pm2_home: string }) => Pm2Api };
  };
  const api = new pm2.default.custom({ pm2_home: home });
  const list = new Promise<Pm2Description[]>((resolve, reject) => {
    api.Client.launchRPC((err) => {
      if (err) return reject(err);
      api.list((listErr, apps) => (listErr ? reject(listErr) : resolve(apps)));
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`PM2 did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const apps = await Promise.race([list, timeout]);
    return { reachable: true, home, apps: apps.map((app) => toApp(app, now)) };
  } catch (err) {
    return { reachable: false, home, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
    api.disconnect();
  }
}

function toApp(app: Pm2Description, now: number): Pm2App {
  const env = app.pm2_env ?? {};
  const status = env.status ?? 'unknown';
  return {
    name: app.name ?? '?',
    status,
    restarts: env.restart_time ?? 0,
    uptimeMs: status === 'online' && env.pm_uptime !== undefined ? Math.max(0, now - env.pm_uptime) : null,
    memoryBytes: app.monit?.memory ?? null,
    cpuPercent: app.monit?.cpu ?? null,
    pid: app.pid !== undefined && app.pid > 0 ? app.pid : null,
  };
}
