import type { WorkerConfig } from '../shared/config';
import { createLogger, type Logger } from '../shared/log';
import { registerSecret } from '../shared/redact';
import { openDatabase, type DbHandle } from '../db/open';
import { sqliteStore } from '../queue/store';
import { KV } from '../queue/kv';
import type { ModelPort } from '../agent/ports';
import type { SandboxDecision } from '../workspace/sandbox';
import { startHeartbeat } from './heartbeat';
import { startReadiness } from './readiness';
import { startRollbackAnnouncement } from './rollback-notice';
import { startSelfReleaseAnnouncer } from '../self-release/flow';
import { createModelPort } from './openai/chat';
import { laneLoops, retryPolicy } from './policy';
import { Allowlist } from './allowlist';
import { Scheduler } from './scheduler';
import { TelegramClient } from './telegram/client';
import { routerFor } from './handlers/router';
import { MetricsRecorder } from './metrics/recorder';
import { publishMetrics } from './metrics-publication';
import { HealthRecorder } from './health-recorder';
import { startSandbox } from './sandbox-start';
import { buildWorkHandlers } from './work-handlers';
import { SchedulerLink } from './scheduler-link';
import { OutcomeFigures } from './outcome-figures';
import { recoverAtStart } from './start-recovery';
import { startPolling } from './polling';
import { BotProfile } from './bot-profile';
import { WorkLoops } from './work-loops';
import { stopSequence } from './stop-sequence';

export interface WorkerOptions {
  readonly now?: () => number;
  readonly random?: () => number;
  /** Replaces the OpenAI client (tests without a network). */
  readonly model?: ModelPort;
  readonly log?: Logger;
  /** Called after every answered message. */
  readonly onCompleted?: (count: number) => void;
  /** The revision this process runs (null: none); when not given, the running code's folder says. */
  readonly revision?: string | null;
}

/** A running worker. */
export interface WorkerHandle {
  readonly db: DbHandle;
  /** The port of the `/metrics` endpoint, when AUTONOUS_METRICS_PORT is set. */
  readonly metricsPort?: number;
  /** How the agent's commands run (bwrap or not), decided once at start. */
  readonly sandbox: SandboxDecision;
  /** Settles when the worker stops by itself: rejects with `FatalWorkerError` (exit 78). */
  readonly done: Promise<void>;
  /** Graceful stop: no new polls or claims, the message in flight gets `graceMs` to finish. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Opens the database, recovers interrupted work, and starts ingress, processing and the heartbeat.
 * Throws `ConfigError` (AGENT_SANDBOX, AGENT_SANDBOX_READ) when commands could not run as configured.
 */
export async function startWorker(config: WorkerConfig, options: WorkerOptions = {}): Promise<WorkerHandle> {
  // before anything can carry them out: logs, tool results, answers, cards, documents
  registerSecret(config.telegram.token);
  registerSecret(config.openai.apiKey);
  const log = options.log ?? createLogger('worker');
  const now = options.now ?? Date.now;
  const sandbox = await startSandbox(config, log);
  const db = openDatabase(config.dbPath);
  const { sqlite } = db;
  const readiness = startReadiness({ sqlite, log, now, revision: options.revision });
  const telegram = new TelegramClient(config.telegram.token, config.telegram.apiRoot);
  const model = options.model ?? openAiModel(config);
  if (config.telegram.allowedChatIds.length === 0) {
    log.warn('TG_ALLOWED_CHAT_IDS is empty: the bot answers no one; set it to your chat id(s)');
  }

  const store = sqliteStore(sqlite);
  const allowlist = new Allowlist(config.telegram.allowedChatIds);
  allowlist.load(sqlite, log);
  const allowed = (chatId: number): boolean => allowlist.has(chatId);
  const link = new SchedulerLink();
  const profile = new BotProfile(telegram, log);
  const ports = { config, sandbox, sqlite, store, telegram, model, log, now, isAllowed: allowed, allowlist };
  const work = buildWorkHandlers({ ...ports, scheduler: link, botUsername: profile.username });
  const recorder = new MetricsRecorder();
  const ingressHealth = new HealthRecorder(store, KV.ingressHealth, now, log);
  const modelHealth = new HealthRecorder(store, KV.modelHealth, now, log);
  const outcomes = new OutcomeFigures({ recorder, modelHealth, now, onCompleted: options.onCompleted });
  const scheduler = link.bind(
    new Scheduler({
      store,
      handlerFor: routerFor(work.handlers, allowed),
      policy: retryPolicy(config),
      lanes: laneLoops(config),
      log,
      now,
      random: options.random ?? Math.random,
      onDead: (item, error) => {
        outcomes.dead();
        work.ending.dead(item, error);
      },
      onSettled: (item, outcome) => [outcomes, readiness].forEach((o) => o.settled(item, outcome)),
    }),
  );

  recoverAtStart(config, {
    sqlite,
    runsDir: work.runsDir,
    log,
    now,
    onDead: (item) => work.ending.dead(item),
  });
  const stopHeartbeat = startHeartbeat(sqlite, config.worker.heartbeatSeconds, now, log);
  const abort = new AbortController();
  const onStored = (): void => {
    scheduler.wake();
    work.waiting.check();
  };
  const polling = startPolling(
    config,
    { sqlite, telegram, log, now, onStored, onPoll: (r) => ingressHealth.record(r) },
    allowed,
    abort.signal,
  );
  profile.register();
  const loops = new WorkLoops([scheduler, work.sweeper]);
  loops.startWhen(readiness.follow(polling), abort.signal);
  const announcement = startRollbackAnnouncement(sqlite, telegram, config.telegram.adminChatIds, log, now());
  const metrics = await publishMetrics(
    {
      recorder,
      now,
      queue: () => store.queueFigures(),
      inFlight: () => scheduler.running().filter((i) => i.lane === 'answer').length,
      pollFailingSeconds: () => ingressHealth.failingSeconds(),
    },
    config.worker.metricsPort,
    log,
  );
  log.info('worker started', {
    db: config.dbPath,
    concurrency: config.worker.concurrency,
    allowedChats: config.telegram.allowedChatIds.length,
  });

  const stop = stopSequence({
    polling: abort,
    polled: polling.done,
    loops,
    announcement,
    releases: config.agent.self.on ? startSelfReleaseAnnouncer(work.selfRelease) : undefined,
    metrics,
    stopHeartbeat,
    db,
    log,
  });
  const done = Promise.race([polling.done, scheduler.failed]);
  return { db, sandbox, done, stop, metricsPort: metrics.port };
}

/** The OpenAI model port configured from the environment. */
function openAiModel(config: WorkerConfig): ModelPort {
  return createModelPort({
    apiKey: config.openai.apiKey,
    baseUrl: config.openai.baseUrl,
    model: config.openai.model,
    timeoutSeconds: config.openai.timeoutSeconds,
  });
}
