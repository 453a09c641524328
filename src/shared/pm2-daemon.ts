import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** The PM2_HOME a pm2 client in this environment talks to. */
export function pm2Home(env: Env): string {
  const home = env.PM2_HOME;
  return home !== undefined && home !== '' ? home : path.resolve(os.homedir(), '.pm2');
}

/** The daemon's RPC socket (PM2_DAEMON_RPC_PORT overrides it, as in pm2 itself). */
export function pm2RpcSocket(env: Env): string {
  return env.PM2_DAEMON_RPC_PORT || path.join(pm2Home(env), 'rpc.sock');
}

/**
 * True when a PM2 daemon accepts connections on its RPC socket within `timeoutMs`. pm2's own
 * connect() would spawn a daemon when none runs; callers that must never do that ask here first.
 */
export function daemonAnswers(env: Env, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(pm2RpcSocket(env));
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
