import type { WorkerConfig } from '../shared/config';
import { createLogger, describeError, type Logger } from '../shared/log';
import { registerSecret } from '../shared/redact';
import { openDatabase, type DbHandle } from '../db/open';
import { recoverInterrupted } from '../queue/settle';
import { sqliteStore } from '../queue/store';
import type { InboxRow } from '../queue/row';
import { startHeartbeat } from './heartbeat';
import { announceRollbacks } from './rollback-notice';
import { Ingress } from './ingress';
import type { ModelPort } from '../agent/ports';
import { createModelPort } from './openai/chat';
import { chatModel } from './chat-model';
import { DraftSupport } from './draft-stream';
import { COMMANDS } from './commands';
import { crashAttemptLimit, isAllowed, retryPolicy } from './policy';
import { FatalWorkerError, Scheduler, STOPPED_BY_USER } from './scheduler';
import { TelegramClient } from './telegram';
import { EdgeError } from './errors';
import { ChatReplyHandler } from './handlers/chat-reply';
import { noticeHandler, refusalHandler, sendDeadNotice } from './handlers/notice';
import { routerFor } from './handlers/router';
import { MetricsRecorder } from './metrics/recorder';
import type { FigureSources } from './metrics/figures';
import { publishPm2Metrics } from './metrics/pm2-metrics';
import { startPrometheus } from './metrics/prometheus';
import { HealthRecorder } from './health-recorder';
import { KV } from '../queue/kv';
import { CommandHandler } from './handlers/command';
import { ApprovalPressHandler } from './approvals/press-handler';
import { ApprovalSweeper } from './approvals/expiry-sweeper';
import { ChatCommands } from './approvals/chat-commands';
import type { Handler } from './handlers/handler';
import path from 'node:path';
import type { SandboxDecision } from '../workspace/sandbox';
import type { GitOptions } from '../workspace/git-runner';
import { startSandbox } from './sandbox-start';
import { createTools } from '../agent/tools';
import { reapOrphans } from '../workspace/orphans';
import { expireRunApprovalsNow } from '../queue/agent/expire-run-approvals';
import { createSqliteJournal } from '../queue/agent/sqlite-journal';
import { runSteps } from '../queue/agent/run-steps';
import { toJournalStep } from '../queue/agent/rows';
import { AgentRunHandler } from './handlers/agent-run';
import { projectForRun } from './approvals/projects';
import { checkpointRun, commitRunNote } from './approvals/run-commit';
import { createApprovalPort } from './approvals/approval-port';
import { StatusPace } from './status-pace';

// Commands are quick (a few statements and one send), so a few loops keep one chat's slow send
// (a flood wait) from holding the others' commands.
const CONTROL_CONCURRENCY = 2;

export interface WorkerOptions {
  readonly now?: () => number;
  readonly random?: () => number;
  /** Replaces the OpenAI client (tests without a network). */
  readonly model?: ModelPort;
  readonly log?: Logger;
  /** Called after every answered message. */
  readonly onCompleted?: (count: number) => void;
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
  const random = options.random ?? Math.random;
  const sandbox = await startSandbox(config, log);
  const db = openDatabase(config.dbPath);
  const { sqlite } = db;
  const telegram = new TelegramClient(config.telegram.token, config.telegram.apiRoot);
  const model =
    options.model ??
    createModelPort({
      apiKey: config.openai.apiKey,
      baseUrl: config.openai.baseUrl,
      model: config.openai.model,
      timeoutSeconds: config.openai.timeoutSeconds,
    });

  if (config.telegram.allowedChatIds.length === 0) {
    log.warn('TG_ALLOWED_CHAT_IDS is empty: the bot answers no one; set it to your chat id(s)');
  }

  const store = sqliteStore(sqlite);
  const allowed = (chatId: number): boolean => isAllowed(config, chatId);
  const noticeDeps = {
    store,
    telegram,
    log,
    now,
    allowlistEmpty: config.telegram.allowedChatIds.length === 0,
  };
  const answerDeps = {
    store,
    telegram,
    model,
    log,
    modelFor: (chatId: number) => chatModel(store, chatId, config.openai.model, config.openai.models),
    drafts:
      config.telegram.stream === 'draft'
        ? { support: new DraftSupport(), intervalMs: config.telegram.draftIntervalMs }
        : null,
    systemPrompt: config.worker.systemPrompt,
    contextMaxTokens: config.worker.contextMaxTokens,
    dailyTokensPerChat: config.worker.dailyTokensPerChat,
    now,
    testTriggers: config.worker.testTriggers,
  };
  const stateDir = path.dirname(config.dbPath);
  // every git the worker runs on a project: sandboxed like a command, bounded in time
  const git: GitOptions = { sandbox, timeoutMs: config.agent.gitTimeoutSeconds * 1000 };
  const runsDir = path.join(stateDir, 'runs');
  const chat: Handler = config.agent.tools
    ? new AgentRunHandler({
        ...answerDeps,
        projectFor: (item) =>
          projectForRun(sqlite, store, config.agent, { id: item.id, chatId: item.chatId! }, git),
        undo: {
          checkpoint: async (item, root) => {
            await checkpointRun(sqlite, item.id, root, git, now());
          },
          commit: (item, root, signal) =>
            commitRunNote({ sqlite, log }, item.id, root, item.text ?? '', { ...git, signal }),
        },
        askApproval: (item, root) =>
          createApprovalPort({
            sqlite,
            telegram,
            log,
            now,
            root,
            replyTo: item.messageId,
            onAsked: () => sweeper.poke(),
          }),
        runsDir,
        tools: createTools({ sandbox, gitTimeoutMs: git.timeoutMs }),
        journal: createSqliteJournal(sqlite),
        runSteps: (runId) => runSteps(sqlite, runId).map(toJournalStep),
        limits: {
          maxSteps: config.agent.maxSteps,
          maxRunSeconds: config.agent.maxRunSeconds,
          maxRunTokens: config.agent.maxRunTokens,
        },
        approval: {
          mode: config.agent.approval,
          sandboxed: sandbox.sandboxed,
          timeoutSeconds: config.agent.approvalTimeoutSeconds,
        },
        statusPace: new StatusPace(),
      })
    : new ChatReplyHandler(answerDeps);
  // The command handler asks the scheduler about answers in flight; the scheduler is built
  // from the handlers, so the command handler reaches it through this late binding.
  let botUsername: string | undefined;
  // Deciding an approval wakes its parked run: through the scheduler, bound late as above
  const decisionDeps = {
    sqlite,
    store,
    telegram,
    log,
    now,
    approvers: config.agent.approvers,
    wake: () => scheduler.wake(),
  };
  const sweeper = new ApprovalSweeper(decisionDeps);
  const command = new CommandHandler({
    store,
    telegram,
    lanes: {
      cancel: (chatId) => scheduler.cancel(chatId, 'answer'),
      running: () => scheduler.running(),
    },
    log,
    now,
    defaultModel: config.openai.model,
    models: config.openai.models,
    prices: config.openai.prices,
    systemPrompt: config.worker.systemPrompt,
    contextMaxTokens: config.worker.contextMaxTokens,
    botUsername: () => botUsername,
    // a stopped message's run ends cancelled, and a card it waited on loses its buttons
    onStopped: (inboxIds) => {
      for (const id of inboxIds) {
        const run = store.runOfItem(id);
        if (run === undefined) continue;
        store.finishRunOf(id, { status: 'cancelled', error: STOPPED_BY_USER }, now());
        if (expireRunApprovalsNow(sqlite, run.id, now()) > 0) sweeper.poke();
      }
    },
    more: new ChatCommands({ ...decisionDeps, projects: config.agent, git: () => git }),
    sandboxNote: config.agent.tools ? sandbox.note : null,
  });
  const notifyDead = (item: InboxRow): void => {
    // its run, if any, ends too: the journal must not show it running forever
    if (
      store.finishRunOf(item.id, { status: 'failed', error: 'its message is dead (out of attempts)' }, now())
    ) {
      log.warn('the run of a dead message ended failed', { id: item.id });
    }
    if (item.chatId !== null && allowed(item.chatId)) void sendDeadNotice(noticeDeps, item);
  };
  let completed = 0;
  const recorder = new MetricsRecorder();
  const ingressHealth = new HealthRecorder(store, KV.ingressHealth, now, log);
  const modelHealth = new HealthRecorder(store, KV.modelHealth, now, log);
  const scheduler: Scheduler = new Scheduler({
    store,
    handlerFor: routerFor(
      {
        chat,
        command,
        callback: new ApprovalPressHandler(decisionDeps),
        refuse: refusalHandler(noticeDeps),
        notice: (text, reason) => noticeHandler(noticeDeps, text, reason),
      },
      allowed,
    ),
    policy: retryPolicy(config),
    lanes: [
      { lane: 'answer', concurrency: config.worker.concurrency },
      { lane: 'control', concurrency: CONTROL_CONCURRENCY },
    ],
    log,
    now,
    random,
    onDead: (item) => {
      recorder.deadLetter();
      notifyDead(item);
    },
    onSettled: (item, outcome) => {
      const at = now();
      if (outcome.kind === 'done' && outcome.reply !== undefined) {
        recorder.answer(at, at - item.receivedAt);
        modelHealth.record({ ok: true });
        options.onCompleted?.(++completed);
      } else if (outcome.kind === 'retry' || outcome.kind === 'dead') {
        recorder.error(at, outcome.error.service);
        if (outcome.error.service === 'openai')
          modelHealth.record({ ok: false, error: outcome.error.message });
      }
    },
  });

  // Commands a killed worker left running (unsandboxed ones outlive it) are ended before their
  // runs resume, so an interrupted command's outcome cannot land after the model was told
  const reaped = reapOrphans(runsDir);
  if (reaped > 0) log.warn('killed commands a stopped worker had left running', { groups: reaped });
  // Whatever a dead worker left `processing` goes back with the attempt counted
  const died = recoverInterrupted(
    sqlite,
    { ...retryPolicy(config), maxAttempts: crashAttemptLimit(config) },
    now(),
  );
  for (const item of died) {
    log.error('message is dead: the worker stopped while processing it on every attempt', {
      id: item.id,
      attempts: item.attempts,
    });
    notifyDead(item);
  }

  const stopHeartbeat = startHeartbeat(sqlite, config.worker.heartbeatSeconds, now, (err) =>
    log.warn('heartbeat write failed', { error: describeError(err) }),
  );

  const abort = new AbortController();
  const ingress = new Ingress(
    {
      timeoutSeconds: config.telegram.timeoutSeconds,
      sleepSeconds: config.telegram.sleepSeconds,
      dropPending: config.telegram.dropPending,
      pendingWindowSeconds: config.telegram.pendingWindowSeconds,
      pendingMaxMessages: config.telegram.pendingMaxMessages,
      keepText: (chatId) => isAllowed(config, chatId),
    },
    {
      sqlite,
      telegram,
      log,
      now,
      onStored: () => scheduler.wake(),
      onPoll: (result) => ingressHealth.record(result),
    },
  );
  const polling = ingress.run(abort.signal).catch((err: unknown) => {
    if (err instanceof EdgeError && err.errorClass === 'fatal') throw new FatalWorkerError(err);
    throw err;
  });
  // The command menu; a failure leaves the old menu and is only worth a warning
  void telegram
    .setMyCommands(COMMANDS)
    .catch((err: unknown) =>
      log.warn('could not register the command menu (setMyCommands)', { error: describeError(err) }),
    );
  // The bot's @username tells `/cmd@other_bot` in groups apart from our own commands
  void telegram
    .getMe()
    .then((me) => (botUsername = me.username))
    .catch((err: unknown) => log.warn('could not read the bot user (getMe)', { error: describeError(err) }));
  let started = false;
  void ingress.ready.then(() => {
    if (abort.signal.aborted) return;
    started = true;
    scheduler.start();
    sweeper.start();
  });
  // Its own abort: a stop lets a notice under way finish (within the grace) before the DB closes,
  // so a delivered notice is remembered and not sent again by the next start
  const announceAbort = new AbortController();
  const announcing = announceRollbacks(
    sqlite,
    telegram,
    config.telegram.adminChatIds,
    log,
    now(),
    announceAbort.signal,
  ).catch((err: unknown) => log.warn('could not announce rollbacks', { error: describeError(err) }));
  const figures: FigureSources = {
    recorder,
    now,
    queue: () => store.queueFigures(),
    inFlight: () => scheduler.running().filter((i) => i.lane === 'answer').length,
    pollFailingSeconds: () => ingressHealth.failingSeconds(),
  };
  const unpublish = publishPm2Metrics(figures);
  const metricsServer =
    config.worker.metricsPort > 0
      ? await startPrometheus(figures, config.worker.metricsPort, log)
      : undefined;
  log.info('worker started', {
    db: config.dbPath,
    concurrency: config.worker.concurrency,
    allowedChats: config.telegram.allowedChatIds.length,
  });

  let stopping: Promise<void> | undefined;
  // A second call (a signal during a stop) waits for the first instead of returning at once
  const stop = (graceMs = 8000): Promise<void> =>
    (stopping ??= (async () => {
      const deadline = Date.now() + graceMs;
      abort.abort();
      if (started) await Promise.all([scheduler.stop(graceMs), sweeper.stop()]);
      await polling.catch(() => undefined);
      // the same grace as the scheduler's, not another one on top: PM2's kill_timeout is fixed
      const timer = setTimeout(() => announceAbort.abort(), Math.max(0, deadline - Date.now()));
      await announcing;
      clearTimeout(timer);
      unpublish();
      await metricsServer?.close();
      stopHeartbeat();
      db.close();
      log.info('worker stopped');
    })());
  const done = Promise.race([polling, scheduler.failed]);
  return { db, sandbox, done, stop, metricsPort: metricsServer?.port };
}
