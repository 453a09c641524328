// Builds the handlers the scheduler routes to, from the worker's ports and configuration: the chat
// handler (the agent's runs, with or without tools), commands, approval presses, refusals and notices, with
// the approval sweeper and the rules that end runs, which they share.

import path from 'node:path';
import type Database from 'better-sqlite3';
import { toolSpecs } from '../agent/context-builder';
import type { ModelPort, Tool } from '../agent/ports';
import { createTools } from '../agent/tools';
import { sqliteApprovalStore, type ApprovalStore } from '../queue/agent/approval-store';
import { toJournalStep } from '../queue/agent/rows';
import { runSteps } from '../queue/agent/run-steps';
import { createSqliteJournal } from '../queue/agent/sqlite-journal';
import type { Store } from '../queue/store';
import type { WorkerConfig } from '../shared/config';
import type { Logger } from '../shared/log';
import { priceOf } from '../shared/prices';
import { readProjectInstructions } from '../workspace/project-instructions';
import type { GitOptions } from '../workspace/git-runner';
import type { SandboxDecision } from '../workspace/sandbox';
import { createApprovalPort } from './approvals/approval-port';
import { ChatCommands } from './approvals/chat-commands';
import { ApprovalSweeper } from './approvals/expiry-sweeper';
import { ApprovalPressHandler } from './approvals/press-handler';
import { projectFor, projectForRun } from './approvals/projects';
import { checkpointRun, commitRunNote } from './approvals/run-commit';
import type { AnswerDeps } from './answer-deps';
import { chatModel } from './chat-model';
import { conversationOf, sessionStart, type Conversation } from './chat-session';
import { DraftSupport } from './draft-stream';
import { AgentRunHandler, type AgentRunDeps, type SessionDeps } from './handlers/agent-run';
import { CommandHandler, moreCommands } from './handlers/command';
import {
  decodeReleasePress,
  ReleasePressHandler,
  releaseFromRun,
  SelfReleaseCommands,
  type SelfReleaseDeps,
  selfReleaseStatusLine,
} from '../self-release/flow';
import type { Handler } from './handlers/handler';
import { noticeHandler, refusalHandler, sendDeadNotice } from './handlers/notice';
import { migrationHandler } from './handlers/migration';
import type { Allowlist } from './allowlist';
import type { RoutedHandlers } from './handlers/router';
import { redactingJournal } from './redacting-ports';
import { RunEnding } from './run-ending';
import type { SchedulerLink } from './scheduler-link';
import { SessionCommands } from './session-commands';
import { StatusPace } from './status-pace';
import { WaitingNotices } from './waiting-notices';
import type { TelegramClient } from './telegram/client';
import { sqliteFilesStore } from '../queue/inbox-files';
import type { MessageFilesDeps } from './message-files';
import { createTranscriber } from './openai/transcribe';
import { acceptsImages } from './openai/vision';

/** The worker's ports the handlers are built on. */
export interface WorkPorts {
  readonly config: WorkerConfig;
  readonly sandbox: SandboxDecision;
  readonly sqlite: Database.Database;
  readonly store: Store;
  readonly telegram: TelegramClient;
  readonly model: ModelPort;
  readonly log: Logger;
  readonly now: () => number;
  readonly isAllowed: (chatId: number) => boolean;
  /** The allowlist behind `isAllowed`, which a group's migration extends. */
  readonly allowlist: Allowlist;
  /** The scheduler, bound once it is built from these handlers. */
  readonly scheduler: SchedulerLink;
  /** The bot's @username once known (tells `/cmd@other_bot` apart in groups). */
  readonly botUsername: () => string | undefined;
}

/** The handlers, and what the worker shares with them. */
export interface WorkHandlers {
  readonly handlers: RoutedHandlers;
  /** Expires approvals nobody decided; started and stopped with the scheduler. */
  readonly sweeper: ApprovalSweeper;
  /** How runs end when their messages do (dead messages, at start too). */
  readonly ending: RunEnding;
  /** Where the runs' command outputs go. */
  readonly runsDir: string;
  /** Tells a message stored behind a run that it waits (checked after each stored batch). */
  readonly waiting: WaitingNotices;
  /** `/release`'s flow, whose steps the worker announces while it runs. */
  readonly selfRelease: SelfReleaseDeps;
}

/** Builds the handlers of every route. */
export function buildWorkHandlers(ports: WorkPorts): WorkHandlers {
  const { config, sandbox, sqlite, store, telegram, log, now } = ports;
  const noticeDeps = {
    store,
    telegram,
    log,
    now,
    allowlistEmpty: config.telegram.allowedChatIds.length === 0,
  };
  // Deciding an approval wakes its parked run through the scheduler
  const approvals = sqliteApprovalStore(sqlite);
  const decisionDeps = {
    approvals,
    store,
    telegram,
    log,
    now,
    approvers: config.agent.approvers,
    wake: () => ports.scheduler.wake(),
  };
  const sweeper = new ApprovalSweeper(decisionDeps);
  const ending = new RunEnding({
    store,
    expireApprovals: (runId, at) => approvals.expireOfRun(runId, at),
    onApprovalsExpired: () => sweeper.poke(),
    isAllowed: ports.isAllowed,
    sendDeadNotice: (item, error) => sendDeadNotice(noticeDeps, item, error),
    log,
    now,
  });
  // every git the worker runs on a project: sandboxed like a command, bounded in time
  const git: GitOptions = { sandbox, timeoutMs: config.agent.gitTimeoutSeconds * 1000 };
  const runsDir = path.join(path.dirname(config.dbPath), 'runs');
  const selfRelease = selfReleaseDeps(ports, git);
  // one list for runs and /compact, so the summary call offers the tools a run does, in its order
  const tools = config.agent.tools
    ? createTools({ sandbox, gitTimeoutMs: git.timeoutMs, selfRelease: config.agent.self.on })
    : [];
  const command = new CommandHandler({
    store,
    telegram,
    lanes: ports.scheduler,
    log,
    now,
    defaultModel: config.openai.model,
    models: config.openai.models,
    prices: config.openai.prices,
    sessions: sessionCommands(ports, tools, git),
    botUsername: ports.botUsername,
    onStopped: (inboxIds) => ending.stopped(inboxIds),
    more: moreCommands(
      new ChatCommands({ ...decisionDeps, projects: config.agent, git: () => git }),
      new SelfReleaseCommands(selfRelease),
    ),
    sandboxNote: config.agent.tools ? sandbox.note : null,
    statusLines: () => {
      const line = selfReleaseStatusLine(sqlite, config.agent.self.on);
      return line === null ? [] : [line];
    },
  });
  const approvalPress = new ApprovalPressHandler(decisionDeps);
  const releasePress = new ReleasePressHandler(selfRelease);
  return {
    handlers: {
      chat: chatHandler(ports, { approvals, git, runsDir, sweeper, tools, selfRelease }),
      command,
      callback: {
        handle: (item, signal) =>
          (decodeReleasePress(item.text) !== null ? releasePress : approvalPress).handle(item, signal),
      },
      refuse: refusalHandler(noticeDeps),
      migrate: migrationHandler({
        sqlite,
        allowlist: ports.allowlist,
        telegram,
        adminChatIds: config.telegram.adminChatIds,
        log,
        now,
      }),
      notice: (text, reason) => noticeHandler(noticeDeps, text, reason),
    },
    sweeper,
    ending,
    runsDir,
    waiting: new WaitingNotices({ sqlite, telegram, log, now, busy: config.agent.busy }),
    selfRelease,
  };
}

/** What `/release`, its card and its announcements work with. */
export function selfReleaseDeps(ports: WorkPorts, git: GitOptions): SelfReleaseDeps {
  const { config } = ports;
  return {
    sqlite: ports.sqlite,
    telegram: ports.telegram,
    log: ports.log,
    now: ports.now,
    self: config.agent.self,
    approvers: config.agent.approvers,
    workspaces: config.agent.workspaces,
    checkout: config.agent.checkout,
    stateDir: path.dirname(config.dbPath),
    sandbox: ports.sandbox,
    git,
    decideWithinMs: config.agent.approvalTimeoutSeconds * 1000,
  };
}

/** The chat handler: the agent's runs, with tools under AGENT_TOOLS=on, without (plain answers) under off. */
function chatHandler(
  ports: WorkPorts,
  shared: {
    readonly approvals: ApprovalStore;
    readonly git: GitOptions;
    readonly runsDir: string;
    readonly sweeper: ApprovalSweeper;
    readonly tools: readonly Tool[];
    readonly selfRelease: SelfReleaseDeps;
  },
): Handler {
  const { config, sandbox, sqlite, store, telegram, model, log, now } = ports;
  const { approvals, git, runsDir, sweeper, tools } = shared;
  const answerDeps: AnswerDeps = {
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
    showThinking: config.openai.showThinking,
    dailyTokensPerChat: config.worker.dailyTokensPerChat,
    now,
    testTriggers: config.worker.testTriggers,
  };
  // the same run without tools is a plain answer: one model call, no project, no approvals
  const workspace: Pick<AgentRunDeps, 'projectFor' | 'undo' | 'askApproval' | 'tools'> = config.agent.tools
    ? {
        projectFor: (item) =>
          projectForRun(store, config.agent, { id: item.id, ...conversationOf(item) }, git),
        undo: {
          checkpoint: async (item, root) => {
            await checkpointRun(sqlite, item.id, root, git);
          },
          commit: (item, root, signal) =>
            commitRunNote({ sqlite, log }, item.id, root, item.text ?? `a ${item.kind} from the chat`, {
              ...git,
              signal,
            }),
        },
        askApproval: (item, root) =>
          createApprovalPort({
            approvals,
            telegram,
            log,
            now,
            root,
            replyTo: item.messageId,
            onAsked: () => sweeper.poke(),
          }),
        tools,
      }
    : { tools };
  return new AgentRunHandler({
    ...answerDeps,
    telegram,
    ...workspace,
    runsDir,
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
    sessions: sessionDeps(ports),
    files: filesDeps(ports),
    acceptsImages: (model) => acceptsImages(model, config.openai.vision),
    ...(config.agent.self.on
      ? { release: (item, project, signal) => releaseFromRun(shared.selfRelease, item, project, signal) }
      : {}),
  });
}

// An album's parts come as separate updates, within a second of each other; a part later than
// this after the one before is a message of its own.
const ALBUM_WAIT_MS = 1500;

/** The file step of messages with files: Telegram's files, the project's uploads/, transcription. */
function filesDeps(ports: WorkPorts): MessageFilesDeps {
  const { config, sqlite, telegram, log, now } = ports;
  const { openai } = config;
  return {
    files: sqliteFilesStore(sqlite),
    telegram,
    transcribe:
      openai.transcribeModel === null
        ? null
        : createTranscriber({
            apiKey: openai.apiKey,
            url: openai.transcriptionsUrl,
            model: openai.transcribeModel,
            timeoutSeconds: openai.timeoutSeconds,
          }),
    fileMaxBytes: config.telegram.fileMaxBytes,
    uploadsMaxBytes: config.agent.uploadsMaxBytes,
    albumWaitMs: ALBUM_WAIT_MS,
    now,
    log,
  };
}

/** `/compact` and the session's `/status` lines, set up as the chat's next run would be. */
function sessionCommands(ports: WorkPorts, tools: readonly Tool[], git: GitOptions): SessionCommands {
  const { config, sqlite, store, now } = ports;
  return new SessionCommands({
    store,
    ...(config.agent.tools
      ? { projectOf: (at: Conversation) => projectFor(store, config.agent, at, git) }
      : {}),
    instructions: (root) => readProjectInstructions(root),
    systemPrompt: config.worker.systemPrompt,
    tools: toolSpecs(tools),
    defaultModel: config.openai.model,
    models: config.openai.models,
    contextTokens: config.agent.contextTokens,
    promptCacheKey: config.openai.promptCacheKey,
    now,
    model: ports.model,
    acceptsImages: (model) => acceptsImages(model, config.openai.vision),
    // the summary is stored without secrets, as a run's journal stores it
    journal: redactingJournal(createSqliteJournal(sqlite)),
  });
}

/** Sessions over the store: a session per chat and project from its `/new` on, steering, AGENTS.md. */
function sessionDeps(ports: WorkPorts): SessionDeps {
  const { config, store, now } = ports;
  return {
    sessionFrom: (item) => sessionStart(store, conversationOf(item), item.id),
    contextTokens: config.agent.contextTokens,
    promptCacheKey: config.openai.promptCacheKey,
    ...(config.agent.busy === 'steer' ? { steer: (runId: number) => store.steerMessages(runId, now()) } : {}),
    answerSteered: (runId, reply) => store.answerSteered(runId, reply),
    cachedWeight: (model) => {
      const price = priceOf(config.openai.prices, model);
      return price === undefined || price.input <= 0 ? 1 : price.cached / price.input;
    },
    instructions: (root) => readProjectInstructions(root),
  };
}
