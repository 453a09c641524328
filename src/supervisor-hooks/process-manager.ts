// What the supervisor needs from PM2, behind an interface: the state machine's tests drive it with
// a fake, and src/shared/pm2/client.ts is the real one (`connectPm2`).
import type { AppInfo } from '../shared/pm2/apps';
import type { Pm2Client } from '../shared/pm2/client';

export type { AppInfo, LifecycleEvent } from '../shared/pm2/apps';

/**
 * What the supervisor needs from PM2: the client's operations (apps addressed by name, never
 * `all`), with each app as the supervisor sees it.
 */
export type ProcessManager = Omit<Pm2Client, 'list'> & {
  list(): Promise<AppInfo[]>;
};
