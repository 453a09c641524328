import type Database from 'better-sqlite3';
import { claimNext, nextAvailableAt } from './claim';
import { chatLaneState, skipWaitingAnswers, type ChatLaneState } from './chat-lane';
import { queueFigures } from './depth';
import { deleteKv, getKv, setKv } from './kv';
import type { JournalSession, RunOutcome, UserStep } from '../agent/journal';
import type { Usage } from '../agent/ports';
import { lastModelUsage } from './agent/last-model-usage';
import { loadSession, sessionFor } from './agent/session';
import { answerSteered, steerMessages } from './agent/steer-messages';
import { prepared } from './statements';
import { finishRun } from './agent/finish-run';
import { runForInbox } from './agent/run-for-inbox';
import { reopenDeadRun } from './agent/reopen-dead-run';
import { setRunStatusMessage } from './agent/set-status-message';
import type { RunRow } from './agent/rows';
import { parkItem, unparkDue, unparkItem } from './park';
import type { FailureFate } from './policy';
import type { InboxRow, Lane } from './row';
import { chatTokensSince, recordUsage, usageSince, type UsageRecord, type UsageTotal } from './usage';
import {
  storeAnswer,
  type AnswerUsage,
  completeItem,
  failItem,
  markPartsSent,
  releaseItem,
  skipItem,
  storeReply,
  type StoredError,
} from './settle';

/**
 * The queue as the worker's scheduler and handlers use it: one port over the operations of
 * `src/queue`, so they can be given a store in tests and never hold SQL themselves.
 */
export interface Store {
  /** Claims the next ready item of a lane (see `claimNext`). */
  claim(now: number, lane: Lane): InboxRow | undefined;
  /** When the next claimable item becomes ready, or undefined. */
  nextReadyAt(): number | undefined;
  storeReply(id: number, reply: string): void;
  /** The answer and its usage, in one transaction, before anything is sent. */
  storeAnswer(item: InboxRow, reply: string, usage: AnswerUsage | null, now: number): void;
  markPartsSent(id: number, parts: number): void;
  /** Done; with `reply`, both turns go to history in the same transaction. */
  complete(item: InboxRow, reply: string | undefined, now: number): void;
  skip(id: number, reason: string, now: number): void;
  fail(id: number, fate: FailureFate, error: StoredError, now: number): void;
  /** Back to the queue without counting the attempt. */
  release(id: number, availableAt: number): void;
  park(id: number, until: number | null, reason: string): void;
  unpark(id: number, now: number): boolean;
  /** Parked items whose time has come go back to work; returns how many. */
  unparkDue(now: number): number;
  /** `/stop`: the waiting answers of the chat's forum topic (null: none) end skipped; returns them. */
  skipWaitingAnswers(
    chatId: number,
    threadId: number | null,
    beforeUpdateId: number,
    reason: string,
    now: number,
  ): number[];
  chatLaneState(chatId: number): ChatLaneState;
  recordUsage(record: UsageRecord, now: number): void;
  usageSince(since: number, chatId?: number): UsageTotal[];
  chatTokensSince(chatId: number, since: number): number;
  /** Waiting and dead items, for the metrics. */
  queueFigures(): { readonly depth: number; readonly dead: number };
  getKv(key: string): string | undefined;
  setKv(key: string, value: string, now: number): void;
  deleteKv(key: string): void;
  /** The agent run of an inbox item, if it has one (`/status`, the daily limit, its status message). */
  runOfItem(inboxId: number): RunRow | undefined;
  /** Records a run's status message once it is sent, so a resumed run edits the same one. */
  setRunStatusMessage(runId: number, messageId: number): void;
  /** Ends the item's run if it is still open (its message died); whether there was one. */
  finishRunOf(inboxId: number, outcome: RunOutcome, now: number): boolean;
  /** A dead message retried: its run, failed when the message died, goes on (see `reopenDeadRun`). */
  reopenDeadRun(inboxId: number, now: number): boolean;
  /**
   * The session of a chat's (or forum topic's, `threadId`; 0: none) project after its `/new` at
   * `fromInboxId` (0: none), made if new.
   */
  sessionFor(chatId: number, threadId: number, project: string, fromInboxId: number, now: number): number;
  /** The session with every run past its newest compaction: what its next run starts from. */
  session(sessionId: number): JournalSession;
  /** The prompt and cached tokens of the session's newest model response (see `lastModelUsage`). */
  lastModelUsage(sessionId: number): Pick<Usage, 'promptTokens' | 'cachedTokens'> | undefined;
  /** Takes the chat's waiting messages into a working run (see `steerMessages`). */
  steerMessages(runId: number, now: number): UserStep[];
  /** Stores a run's answer on the messages steered into it. */
  answerSteered(runId: number, reply: string): void;
  /** The Telegram message id of an inbox item (null: none, or no such item). */
  messageIdOf(inboxId: number): number | null;
}

/** The store over one SQLite connection. */
export function sqliteStore(sqlite: Database.Database): Store {
  return {
    claim: (now, lane) => claimNext(sqlite, now, lane),
    nextReadyAt: () => nextAvailableAt(sqlite),
    storeReply: (id, reply) => storeReply(sqlite, id, reply),
    storeAnswer: (item, reply, usage, now) => storeAnswer(sqlite, item, reply, usage, now),
    markPartsSent: (id, parts) => markPartsSent(sqlite, id, parts),
    complete: (item, reply, now) => completeItem(sqlite, item, reply, now),
    skip: (id, reason, now) => skipItem(sqlite, id, reason, now),
    fail: (id, fate, error, now) => failItem(sqlite, id, fate, error, now),
    release: (id, availableAt) => releaseItem(sqlite, id, availableAt),
    park: (id, until, reason) => parkItem(sqlite, id, until, reason),
    unpark: (id, now) => unparkItem(sqlite, id, now),
    unparkDue: (now) => unparkDue(sqlite, now),
    skipWaitingAnswers: (chatId, threadId, before, reason, now) =>
      skipWaitingAnswers(sqlite, chatId, threadId, before, reason, now),
    chatLaneState: (chatId) => chatLaneState(sqlite, chatId),
    recordUsage: (record, now) => recordUsage(sqlite, record, now),
    usageSince: (since, chatId) => usageSince(sqlite, since, chatId),
    chatTokensSince: (chatId, since) => chatTokensSince(sqlite, chatId, since),
    queueFigures: () => queueFigures(sqlite),
    getKv: (key) => getKv(sqlite, key),
    setKv: (key, value, now) => setKv(sqlite, key, value, now),
    deleteKv: (key) => deleteKv(sqlite, key),
    runOfItem: (inboxId) => runForInbox(sqlite, inboxId),
    setRunStatusMessage: (runId, messageId) => setRunStatusMessage(sqlite, runId, messageId),
    finishRunOf: (inboxId, outcome, now) => {
      const run = runForInbox(sqlite, inboxId);
      return run !== undefined && finishRun(sqlite, run.id, outcome, now);
    },
    reopenDeadRun: (inboxId, now) => reopenDeadRun(sqlite, inboxId, now),
    sessionFor: (chatId, threadId, project, fromInboxId, now) =>
      sessionFor(sqlite, chatId, threadId, project, fromInboxId, now),
    session: (sessionId) => loadSession(sqlite, sessionId, Number.MAX_SAFE_INTEGER),
    lastModelUsage: (sessionId) => lastModelUsage(sqlite, sessionId),
    steerMessages: (runId, now) => steerMessages(sqlite, runId, now),
    answerSteered: (runId, reply) => answerSteered(sqlite, runId, reply),
    messageIdOf: (inboxId) =>
      (prepared(sqlite, 'SELECT message_id FROM inbox WHERE id = ?').pluck().get(inboxId) as
        number | null | undefined) ?? null,
  };
}

export type { RunRow };
