import type { Env } from '../shared/env';
import type { Pm2Process } from '../shared/pm2/apps';
import { connectPm2, Pm2UnreachableError } from '../shared/pm2/client';
import { pm2Home, pm2RpcSocket } from '../shared/pm2/daemon';

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

/**
 * Lists the PM2 apps of `env`'s PM2_HOME without ever starting a daemon and without hanging: the
 * one PM2 client (src/shared/pm2/client.ts) probes the daemon's socket first and bounds every
 * call by `timeoutMs`. The daemon listed is the one probed (doctor reads PM2_HOME from the env
 * file too, not only from this process's environment).
 */
export async function readPm2(env: Env, now: number, timeoutMs = 3000): Promise<Pm2Snapshot> {
  const home = pm2Home(env);
  let client;
  try {
    client = await connectPm2({ env: env as NodeJS.ProcessEnv, timeoutMs, probeMs: timeoutMs });
  } catch (err) {
    if (err instanceof Pm2UnreachableError)
      return { reachable: false, home, error: `no PM2 daemon answers on ${pm2RpcSocket(env)}` };
    return { reachable: false, home, error: err instanceof Error ? err.message : String(err) };
  }
  try {
    const apps = await client.list();
    return { reachable: true, home, apps: apps.map((app) => toApp(app, now)) };
  } catch (err) {
    return { reachable: false, home, error: err instanceof Error ? err.message : String(err) };
  } finally {
    await client.close();
  }
}

function toApp(app: Pm2Process, now: number): Pm2App {
  return {
    name: app.name,
    status: app.status,
    restarts: app.restarts,
    uptimeMs: app.status === 'online' && app.startedAt > 0 ? Math.max(0, now - app.startedAt) : null,
    memoryBytes: app.memoryBytes,
    cpuPercent: app.cpuPercent,
    pid: app.pid > 0 ? app.pid : null,
  };
}
