// The one PM2 client of autonous (the supervisor and the CLI): pm2's own RPC and event sockets,
// spoken directly. `require('pm2')` would load pm2's whole CLI and API (about 13 MB in a process
// whose idle memory counts) to send a handful of messages; and its connect() spawns a daemon when
// none runs, which neither the supervisor nor a status command may do. The messages are the ones
// pm2's API sends for the same operations (lib/API.js, lib/Client.js of pm2 7), so the daemon
// cannot tell the difference: a restart is `restartProcessId` then `notifyByProcessId`, which is
// what makes the bus say `restart` with `manually: true`.
import {
  appFromDescription,
  eventFromBus,
  type LifecycleEvent,
  type Pm2Process,
  type RawDescription,
  type RawEvent,
} from './apps';
import { daemonAnswers, pm2Home, pm2PubSocket, pm2RpcSocket } from './daemon';

/** PM2's daemon does not answer: it is not running, or another PM2_HOME is meant. */
export class Pm2UnreachableError extends Error {
  constructor(readonly home: string) {
    super(`No PM2 daemon answers in ${home}: start the apps with \`npm start\` (or set PM2_HOME).`);
    this.name = 'Pm2UnreachableError';
  }
}

/** A connection to one PM2 daemon. Apps are always addressed by name, never `all`. */
export interface Pm2Client {
  /** Every app the daemon runs, without their environments. */
  list(): Promise<Pm2Process[]>;
  /** Restarts the app whatever its state (online, waiting for PM2's restart, stopped, errored). */
  restart(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  /**
   * Restarts the app with this process's environment merged into what PM2 keeps for it (what
   * `pm2 restart --update-env` does from a shell).
   */
  restartWithMyEnv(name: string): Promise<void>;
  /** Sends a signal to the app's process through PM2. */
  signal(name: string, signal: NodeJS.Signals): Promise<void>;
  /**
   * Subscribes to lifecycle events; resolves once the bus is connected. `onReconnect` runs after
   * every reconnect: events sent meanwhile are lost, so that is when to re-read the list.
   */
  subscribe(onEvent: (event: LifecycleEvent) => void, onReconnect: () => void): Promise<void>;
  /** Closes the sockets (the process can exit). */
  close(): Promise<void>;
}

/** Options of `connectPm2`. */
export interface ConnectOptions {
  /** The process environment (PM2_HOME). */
  readonly env?: NodeJS.ProcessEnv;
  /** Bound on each call to the daemon (default 15 s: a stop waits for the app's kill_timeout). */
  readonly timeoutMs?: number;
  /** Bound on finding the daemon (default 3 s). */
  readonly probeMs?: number;
}

// pm2's sockets (pm2/modules/pm2-axon*), typed as far as they are used.
interface AxonSocket {
  connect(path: string): AxonSocket;
  close(): void;
  on(event: 'connect' | 'close' | 'error', listener: (err?: Error) => void): void;
  once(event: 'connect' | 'close' | 'error', listener: (err?: Error) => void): void;
  removeListener(event: string, listener: (...args: never[]) => void): void;
}
interface SubEmitter {
  connect(path: string): AxonSocket;
  on(event: string, listener: (payload: RawEvent) => void): void;
  close(): void;
}
interface Axon {
  socket(type: 'req'): AxonSocket;
  socket(type: 'sub-emitter'): SubEmitter;
}
type Reply = (err: Error | null, result?: unknown) => void;
interface RpcClient {
  call(method: string, arg: unknown, reply: Reply): void;
}
interface AxonRpc {
  Client: new (sock: AxonSocket) => RpcClient;
}

function loadSockets(): { axon: Axon; rpc: AxonRpc } {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    axon: require('pm2/modules/pm2-axon') as Axon,
    rpc: require('pm2/modules/pm2-axon-rpc') as AxonRpc,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

// PM2 refuses to start an app that it still remembers a pid for, or that it is about to start:
// stopping first (which also cancels its own pending restart) then starting again works in all
// of these states.
const START_REFUSED = /already exists|already online|already started/i;

function withTimeout<T>(what: string, timeoutMs: number, run: (done: Reply) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`PM2 did not answer ${what} within ${timeoutMs} ms.`)),
      timeoutMs,
    );
    run((err, result) => {
      clearTimeout(timer);
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(result as T);
    });
  });
}

/** Closes an axon socket: at once when it says so, else after a moment (as pm2's own client). */
function closeSocket(sock: AxonSocket): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 200);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.close();
  });
}

// The fields PM2 itself puts into an app's environment (its restart counter, id, status, ...):
// handing them back would overwrite PM2's record of the app. pm2's API leaves out the same ones
// (Common.safeExtend in pm2 7).
const PM2_FIELDS = new Set(
  'name exec_mode env args pm_cwd exec_interpreter pm_exec_path node_args pm_out_log_path pm_err_log_path pm_pid_path pm_id status pm_uptime created_at windowsHide username merge_logs kill_retry_time prev_restart_delay instance_var unstable_restarts restart_time axm_actions pmx_module command watch filter_env versioning vizion_runing MODULE_DEBUG pmx axm_options vizion axm_dynamic axm_monitor instances automation autostart autorestart stop_exit_codes unstable_restart treekill exit_code'.split(
    ' ',
  ),
);

/** This process's environment without PM2's own fields. */
function ownEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !PM2_FIELDS.has(key)) env[key] = value;
  }
  return env;
}

/**
 * Connects to the running PM2 daemon of `PM2_HOME`, never starting one. Throws
 * `Pm2UnreachableError` when no daemon answers.
 */
export async function connectPm2(options: ConnectOptions = {}): Promise<Pm2Client> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 15000;
  const home = pm2Home(env);
  if (!(await daemonAnswers(env, options.probeMs ?? 3000))) throw new Pm2UnreachableError(home);
  const { axon, rpc } = loadSockets();

  const req = axon.socket('req');
  const client = new rpc.Client(req);
  // a socket error with no listener would throw; axon itself retries what it can
  let lastError: Error | undefined;
  req.on('error', (err) => (lastError = err));
  try {
    await withTimeout<void>('the connection', Math.min(timeoutMs, 5000), (done) => {
      req.once('connect', () => done(null));
      req.connect(pm2RpcSocket(env));
    });
  } catch (err) {
    req.close(); // it would retry forever and keep the process alive
    throw lastError ?? err;
  }

  const call = <T>(method: string, arg: unknown, what = method): Promise<T> =>
    withTimeout<T>(what, timeoutMs, (done) => client.call(method, arg, done));
  const describe = async (): Promise<(RawDescription & { pm_id?: unknown })[]> =>
    (await call<(RawDescription & { pm_id?: unknown })[] | null>('getMonitorData', {}, 'list')) ?? [];
  const list = async (): Promise<Pm2Process[]> => (await describe()).map(appFromDescription);
  /** The app's PM2 ids and whether one waits for PM2's own restart; throws when PM2 has none. */
  const find = async (name: string): Promise<{ ids: number[]; waiting: boolean }> => {
    const procs = (await describe()).filter((p) => p.pm2_env?.name === name && typeof p.pm_id === 'number');
    if (procs.length === 0)
      throw new Error(`PM2 has no app ${name}: start it with \`pm2 start ecosystem.config.cjs\`.`);
    return {
      ids: procs.map((p) => p.pm_id as number),
      waiting: procs.some((p) => p.pm2_env?.status === 'waiting restart'),
    };
  };
  // A command tells the daemon it acted by hand: the bus then says `manually: true`.
  const notify = (id: number, action: 'restart' | 'stop'): Promise<unknown> =>
    call('notifyByProcessId', { id, action_name: action, manually: true }, `${action} notice`);
  const stopIds = async (name: string, found: readonly number[]): Promise<void> => {
    for (const id of found) {
      await call('stopProcessId', id, `stop ${name}`);
      await notify(id, 'stop');
    }
  };
  const restartIds = async (name: string, found: readonly number[], env: object): Promise<void> => {
    for (const id of found) {
      await call('restartProcessId', { id, env }, `restart ${name}`);
      await notify(id, 'restart');
    }
  };

  let bus: SubEmitter | undefined;
  let busSocket: AxonSocket | undefined;
  return {
    list,
    async restart(name) {
      const { ids, waiting } = await find(name);
      if (waiting) await stopIds(name, ids);
      try {
        await restartIds(name, ids, {});
      } catch (err) {
        if (!(err instanceof Error) || !START_REFUSED.test(err.message)) throw err;
        await stopIds(name, ids);
        await restartIds(name, ids, {});
      }
    },
    async stop(name) {
      await stopIds(name, (await find(name)).ids);
    },
    async restartWithMyEnv(name) {
      // as `pm2 restart --update-env`: the environment, merged into the app's by the daemon
      await restartIds(name, (await find(name)).ids, ownEnvironment());
    },
    async signal(name, signal) {
      await call('sendSignalToProcessName', { signal, process_name: name }, `${signal} to ${name}`);
    },
    subscribe(onEvent, onReconnect) {
      bus = axon.socket('sub-emitter');
      const sub = bus;
      return withTimeout<void>('the bus connection', timeoutMs, (done) => {
        busSocket = sub.connect(pm2PubSocket(env));
        busSocket.on('error', (err) => (lastError = err));
        sub.on('process:event', (raw) => onEvent(eventFromBus(raw, Date.now())));
        busSocket.once('connect', () => {
          // axon reconnects on its own and says `connect` again each time (the first one is past)
          busSocket?.on('connect', () => onReconnect());
          done(null);
        });
      });
    },
    async close() {
      await Promise.all([closeSocket(req), ...(busSocket ? [closeSocket(busSocket)] : [])]);
    },
  };
}
