// What the supervisor needs from PM2, behind an interface: the state machine's tests drive it with
// a fake, and src/shared/pm2/client.ts is the real one (`connectPm2`).
import type { AppInfo, LifecycleEvent } from '../shared/pm2/apps';

export type { AppInfo, LifecycleEvent } from '../shared/pm2/apps';

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
