import { daemonAnswers, pm2Home } from '../shared/pm2-daemon';

/**
 * One PM2 app, reduced to the fields the supervisor uses. PM2 sends each app's whole environment
 * along with its events and its list (the worker's bot token and API key among them); copying
 * only these fields keeps those values out of everything the supervisor logs or stores.
 */
export interface AppInfo {
  readonly name: string;
  /** online, launching, stopping, stopped, waiting restart, errored, ... */
  readonly status: string;
  /** 0 when the app is not running. */
  readonly pid: number;
  /** When the current (or last) run started, ms (PM2's `pm_uptime`). */
  readonly startedAt: number;
  /** PM2's restart counter. */
  readonly restarts: number;
  /** The script as PM2 runs it (symlinks not resolved). */
  readonly execPath: string;
  readonly exitCode: number | null;
}

/** A lifecycle event of the PM2 bus (`process:event`). */
export interface LifecycleEvent {
  /** online, exit, restart, stop, start, restart overlimit, ... */
  readonly event: string;
  /** PM2's `manually`: true only for the final `restart`/`stop` of a command. */
  readonly manual: boolean;
  readonly at: number;
  readonly app: AppInfo;
}

/** What the supervisor needs from PM2. Apps are always addressed by name, never `all`. */
export interface ProcessManager {
  list(): Promise<AppInfo[]>;
  /** Restarts the app whatever its state (online, waiting for PM2's restart, stopped, errored). */
  restart(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  /**
   * Restarts the app with this process's environment merged into what PM2 keeps for it (what
   * `pm2 restart --update-env` does from a shell). Only the supervisor uses it, on itself.
   */
  restartWithMyEnv(name: string): Promise<void>;
  /** Sends a signal to the app's process through PM2. */
  signal(name: string, signal: NodeJS.Signals): Promise<void>;
  /**
   * Subscribes to lifecycle events; resolves once the bus is connected. `onReconnect` runs after
   * every reconnect: events sent meanwhile are lost, so that is when to re-read the list.
   */
  subscribe(onEvent: (event: LifecycleEvent) => void, onReconnect: () => void): Promise<void>;
  close(): Promise<void>;
}

/** PM2's daemon does not answer: it is not running, or another PM2_HOME is meant. */
export class Pm2UnreachableError extends Error {
  constructor(readonly home: string) {
    super(`No PM2 daemon answers in ${home}: start the apps with \`npm start\` (or set PM2_HOME).`);
    this.name = 'Pm2UnreachableError';
  }
}

/** PM2's home folder, resolved the way PM2 itself does (`PM2_HOME`, else `~/.pm2`). */

// The raw shapes PM2 hands out (only what we read).
interface RawEnv {
  name?: unknown;
  status?: unknown;
  pm_uptime?: unknown;
  restart_time?: unknown;
  pm_exec_path?: unknown;
  exit_code?: unknown;
}
interface RawDescription {
  name?: unknown;
  pid?: unknown;
  pm2_env?: RawEnv;
}
interface RawEvent {
  event?: unknown;
  manually?: unknown;
  at?: unknown;
  process?: RawEnv;
}

const num = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;
const str = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);

function toAppInfo(env: RawEnv, pid: unknown, fallbackName: unknown): AppInfo {
  return {
    name: str(env.name, str(fallbackName, '?')),
    status: str(env.status, 'unknown'),
    pid: num(pid, 0),
    startedAt: num(env.pm_uptime, 0),
    restarts: num(env.restart_time, 0),
    execPath: str(env.pm_exec_path, ''),
    exitCode: typeof env.exit_code === 'number' ? env.exit_code : null,
  };
}

/** One `pm2.list()` entry without its environment. Pure. */
export function appFromDescription(raw: RawDescription): AppInfo {
  return toAppInfo(raw.pm2_env ?? {}, raw.pid, raw.name);
}

/** One bus payload without its environment. Pure. */
export function eventFromBus(raw: RawEvent, now: number): LifecycleEvent {
  // the bus sends pm2_env without `pid` (it lives on the process object): 0 means "not known here"
  return {
    event: str(raw.event, 'unknown'),
    manual: raw.manually === true,
    at: num(raw.at, now),
    app: toAppInfo(raw.process ?? {}, 0, undefined),
  };
}

// The parts of pm2's programmatic API used here. `Client` is pm2's RPC client: not in its typings,
// but connecting it directly is the only way to reach a daemon without the risk of starting one.
type Callback<T = unknown> = (err: Error | null, result?: T) => void;
interface SubSocket {
  on(event: 'connect' | 'close' | 'reconnect attempt', listener: () => void): void;
}
interface Pm2Api {
  Client: { launchRPC(cb: (err: Error | null) => void): void };
  list(cb: Callback<RawDescription[]>): void;
  restart(name: string, cb: Callback): void;
  restart(name: string, opts: { updateEnv: true }, cb: Callback): void;
  stop(name: string, cb: Callback): void;
  sendSignalToProcessName(signal: string, name: string, cb: Callback): void;
  launchBus(
    cb: (err: Error | null, bus: { on(e: string, l: (p: RawEvent) => void): void }, sock: SubSocket) => void,
  ): void;
  disconnect(cb?: () => void): void;
}

function withTimeout<T>(what: string, timeoutMs: number, run: (cb: Callback<T>) => void): Promise<T> {
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

/** Options of `connectPm2`. */
export interface ConnectOptions {
  /** The process environment (PM2_HOME). */
  readonly env?: NodeJS.ProcessEnv;
  /** Bound on each call to the daemon (default 15 s: a stop waits for the app's kill_timeout). */
  readonly timeoutMs?: number;
}

// PM2 refuses to start an app that it still remembers a pid for, or that it is about to start:
// stopping first (which also cancels its own pending restart) then starting again works in all
// of these states.
const START_REFUSED = /already exists|already online|already started/i;

/**
 * Connects to the running PM2 daemon of `PM2_HOME`, never starting one. Throws
 * `Pm2UnreachableError` when no daemon answers.
 */
export async function connectPm2(options: ConnectOptions = {}): Promise<ProcessManager> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 15000;
  const home = pm2Home(env);
  if (!(await daemonAnswers(env, 3000))) {
    throw new Pm2UnreachableError(home);
  }
  // Loaded lazily: pm2 is heavy, and unit tests never need it. An instance of its own, bound to
  // this PM2_HOME (the default instance takes PM2_HOME from the process when first loaded).
  const pm2 = (await import('pm2')) as unknown as {
    default: { custom: new (opts: { pm2_home: string }) => Pm2Api };
  };
  const api = new pm2.default.custom({ pm2_home: home });
  try {
    await withTimeout<void>('the connection', timeoutMs, (cb) => api.Client.launchRPC((err) => cb(err)));
  } catch (err) {
    api.disconnect(); // its socket would retry forever and keep the process alive
    throw err;
  }

  const call = <T>(what: string, run: (cb: Callback<T>) => void): Promise<T> =>
    withTimeout(what, timeoutMs, run);
  const list = async (): Promise<AppInfo[]> =>
    (await call<RawDescription[]>('list', (cb) => api.list(cb))).map(appFromDescription);
  const find = async (name: string): Promise<AppInfo | undefined> =>
    (await list()).find((a) => a.name === name);

  return {
    list,
    async restart(name) {
      const app = await find(name);
      if (!app) throw new Error(`PM2 has no app ${name}: start it with \`pm2 start ecosystem.config.cjs\`.`);
      if (app.status === 'waiting restart') await call(`stop ${name}`, (cb) => api.stop(name, cb));
      try {
        await call(`restart ${name}`, (cb) => api.restart(name, cb));
      } catch (err) {
        if (!(err instanceof Error) || !START_REFUSED.test(err.message)) throw err;
        await call(`stop ${name}`, (cb) => api.stop(name, cb));
        await call(`restart ${name}`, (cb) => api.restart(name, cb));
      }
    },
    async stop(name) {
      await call(`stop ${name}`, (cb) => api.stop(name, cb));
    },
    async restartWithMyEnv(name) {
      await call(`restart ${name}`, (cb) => api.restart(name, { updateEnv: true }, cb));
    },
    async signal(name, signal) {
      await call(`${signal} to ${name}`, (cb) => api.sendSignalToProcessName(signal, name, cb));
    },
    subscribe(onEvent, onReconnect) {
      return new Promise((resolve, reject) => {
        api.launchBus((err, bus, sock) => {
          if (err) return reject(err);
          bus.on('process:event', (raw) => onEvent(eventFromBus(raw, Date.now())));
          // axon reconnects on its own and says `connect` again each time (the first one is past)
          sock.on('connect', onReconnect);
          resolve();
        });
      });
    },
    close() {
      // closes the RPC and the bus sockets
      return new Promise((resolve) => api.disconnect(() => resolve()));
    },
  };
}
