import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** The PM2_HOME a pm2 client in this environment talks to (`PM2_HOME`, else `~/.pm2`, as pm2). */
export function pm2Home(env: Env): string {
  const home = env.PM2_HOME;
  return home !== undefined && home !== '' ? home : path.resolve(os.homedir(), '.pm2');
}

/** The daemon's RPC socket (commands and the process list). */
export function pm2RpcSocket(env: Env): string {
  return path.resolve(pm2Home(env), 'rpc.sock');
}

/** The daemon's event socket (the bus). */
export function pm2PubSocket(env: Env): string {
  return path.resolve(pm2Home(env), 'pub.sock');
}

/**
 * True when a PM2 daemon accepts connections on its RPC socket within `timeoutMs`. A client
 * socket retries a missing daemon forever (and pm2's own connect() would spawn one): callers ask
 * here first.
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
