/**
 * jest globalTeardown: reaps the PM2 daemons this run left behind (a test that failed before its
 * afterAll, a worker killed on timeout) and those of runs that died. Runs in jest's main process,
 * which is the parent of every test worker, hence `process.pid` identifies this run's sandboxes.
 */
import { reapSandboxes } from './pm2-sandbox';

/** Kills every recorded PM2 sandbox of this jest run or of a dead process. */
export default function globalTeardown(): void {
  const reaped = reapSandboxes(process.pid);
  if (reaped > 0)
    console.warn(`globalTeardown: killed ${reaped} PM2 sandbox daemon(s) left running by tests`);
}
