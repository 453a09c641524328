// PM2 entry of `autonous-worker`: read the configuration, wire signals, run until told to stop.
import { loadWorkerConfig, type WorkerConfig } from '../shared/config';
import { ConfigError, loadEnvironment } from '../shared/env';
import { EXIT } from '../shared/exit-codes';
import { createLogger, describeError } from '../shared/log';
import { exitOnUnexpectedErrors } from '../shared/crash-handlers';
import { registerSecret } from '../shared/redact';
import { startWorker, type WorkerHandle } from './app';
import { FatalWorkerError } from './scheduler';

const log = createLogger('worker');

exitOnUnexpectedErrors(log);

function readConfig(): WorkerConfig {
  try {
    const config = loadWorkerConfig(loadEnvironment());
    registerSecret(config.telegram.token);
    registerSecret(config.openai.apiKey);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error(err.message, { variable: err.variable });
      process.exit(EXIT.config);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  // set once started; a signal that arrives before that just exits
  const running: { worker?: WorkerHandle } = {};
  let exiting = false;
  const shutdown = (signal: string): void => {
    if (exiting) return;
    exiting = true;
    log.info(`${signal}: finishing the message in flight, then exiting`);
    void (running.worker?.stop() ?? Promise.resolve()).then(() => process.exit(EXIT.ok));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  let worker: WorkerHandle;
  try {
    worker = await startWorker(config, {
      onCompleted: (count) => {
        const every = config.worker.suicideEvery;
        if (every > 0 && count % every === 0) {
          log.warn(`WORKER_SUICIDE_EVERY=${every}: exiting after ${count} answered messages (crash test)`);
          process.exit(EXIT.suicide);
        }
      },
    });
  } catch (err) {
    // AGENT_SANDBOX=bwrap without a working bwrap: a configuration problem, not a crash
    if (err instanceof ConfigError) {
      log.error(err.message, { variable: err.variable });
      process.exit(EXIT.config);
    }
    throw err;
  }
  running.worker = worker;
  try {
    await worker.done;
  } catch (err) {
    if (err instanceof FatalWorkerError) {
      log.error(err.message);
      await worker.stop(0).catch(() => undefined);
      process.exit(EXIT.config);
    }
    throw err;
  }
}

void main().catch((err: unknown) => {
  log.error('the worker failed', { error: describeError(err) });
  process.exit(EXIT.crash);
});
