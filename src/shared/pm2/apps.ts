// PM2's payloads reduced to what autonous reads. PM2 sends each app's whole environment along with
// its list and its events (the worker's bot token and API key among them); copying only these
// fields keeps those values out of everything the supervisor and the CLI log, store or print.

/** One PM2 app. */
export interface AppInfo {
  readonly name: string;
  /** online, launching, stopping, stopped, waiting restart, errored, ... */
  readonly status: string;
  /** 0 when the app is not running (or not known, in a bus event). */
  readonly pid: number;
  /** When the current (or last) run started, ms (PM2's `pm_uptime`). */
  readonly startedAt: number;
  /** PM2's restart counter. */
  readonly restarts: number;
  /** The script as PM2 runs it (symlinks not resolved). */
  readonly execPath: string;
  readonly exitCode: number | null;
}

/** One entry of PM2's process list: the app and what PM2 measures of it. */
export interface Pm2Process extends AppInfo {
  readonly memoryBytes: number | null;
  readonly cpuPercent: number | null;
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

// The raw shapes PM2 hands out (only what we read).
interface RawEnv {
  name?: unknown;
  status?: unknown;
  pm_uptime?: unknown;
  restart_time?: unknown;
  pm_exec_path?: unknown;
  exit_code?: unknown;
}
/** One entry of PM2's `getMonitorData`, as far as it is read. */
export interface RawDescription {
  name?: unknown;
  pid?: unknown;
  monit?: { memory?: unknown; cpu?: unknown };
  pm2_env?: RawEnv;
}
/** One `process:event` payload, as far as it is read. */
export interface RawEvent {
  event?: unknown;
  manually?: unknown;
  at?: unknown;
  process?: RawEnv;
}

const num = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;
const str = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);
const orNull = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

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

/** One process-list entry without its environment. Pure. */
export function appFromDescription(raw: RawDescription): Pm2Process {
  return {
    ...toAppInfo(raw.pm2_env ?? {}, raw.pid, raw.name),
    memoryBytes: orNull(raw.monit?.memory),
    cpuPercent: orNull(raw.monit?.cpu),
  };
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
