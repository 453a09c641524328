// PM2 entry of `autonous-supervisor`: read the configuration, connect to the database and to
// PM2, then watch the worker until told to stop.
import { openDatabase } from '../db/open';
import { ConfigError, loadEnvironment } from '../shared/env';
import { EXIT } from '../shared/exit-codes';
import { createLogger, describeError } from '../shared/log';
import { exitOnUnexpectedErrors } from '../shared/crash-handlers';
import { SUPERVISOR_APP } from '../shared/contracts';
import { loadSupervisorConfig, supervisorAccepts, type SupervisorConfig } from './config';
import { connectPm2, Pm2UnreachableError } from '../shared/pm2/client';
import type { ProcessManager } from './process-manager';
import { dropSecrets, shouldScrubPm2Env } from './secrets';
import { SupervisorStore } from './store';
import { Supervisor } from './supervisor';

const log = createLogger('supervisor');
const TICK_MS = 1000;
// PM2 starts its apps right after its daemon is up; give a slow machine a moment.
const CONNECT_ATTEMPTS = 20;
// After a restart to blank leaked secrets, a start this soon with secrets again means PM2 did not
// take the blanked values: do not try again (no restart loop).
const SCRUB_PAUSE_MS = 10_000;

exitOnUnexpectedErrors(log);

function readConfig(): SupervisorConfig {
  try {
    return loadSupervisorConfig(loadEnvironment(process.env, supervisorAccepts));
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error(err.message, { variable: err.variable });
      process.exit(EXIT.config);
    }
    throw err;
  }
}

async function connect(): Promise<ProcessManager> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectPm2();
    } catch (err) {
      if (!(err instanceof Pm2UnreachableError) || attempt >= CONNECT_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function main(): Promise<void> {
  // Before anything else: the supervisor must not hold the worker's secrets, even if PM2 gave them.
  const dropped = dropSecrets(process.env);
  for (const name of dropped) {
    log.warn(
      `${name} was in the supervisor's environment and has been dropped; start it from ecosystem.config.cjs, whose filter_env keeps it out`,
    );
  }
  const config = readConfig();
  const handle = openDatabase(config.dbPath);
  const store = new SupervisorStore(handle);
  const pm = await connect();
  const lastScrub = store.lastEvent(['secret_in_env'], undefined, SUPERVISOR_APP);
  if (
    shouldScrubPm2Env(
      dropped,
      process.env,
      SUPERVISOR_APP,
      lastScrub !== null && Date.now() - lastScrub.at < SCRUB_PAUSE_MS,
    )
  ) {
    // /proc/<pid>/environ of this process still shows them, and PM2 would give them again at every
    // restart: blank them in PM2's record and start again (PM2 stops this process now).
    store.record({
      at: Date.now(),
      app: SUPERVISOR_APP,
      event: 'secret_in_env',
      detail: `dropped ${dropped.join(', ')}; restarting with them blanked in PM2`,
    });
    for (const name of dropped) process.env[name] = '';
    log.warn('restarting with the secrets blanked in the environment PM2 keeps for the supervisor');
    await pm.restartWithMyEnv(SUPERVISOR_APP);
    return;
  }
  const supervisor = new Supervisor({ config, store, pm, now: Date.now, log });

  let exiting = false;
  const shutdown = (signal: string): void => {
    if (exiting) return;
    exiting = true;
    log.info(`${signal}: stopping`);
    void supervisor
      .stop()
      .then(() => pm.close())
      .finally(() => {
        handle.close();
        process.exit(EXIT.ok);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  await supervisor.start(
    TICK_MS,
    dropped.map((name) => `${name} was in the environment and was dropped`),
  );
  log.info('watching the worker', {
    releases: config.releasesDir,
    crashLoop: `${config.crashLoopRestarts} in ${config.crashLoopWindowMs / 1000}s`,
  });
}

void main().catch((err: unknown) => {
  log.error('the supervisor failed', { error: describeError(err) });
  process.exit(EXIT.crash);
});
