// A chat's release of project self, as the worker carries it: `/release` (an approver's), the
// card with Release / Cancel, the press that makes it a request for the supervisor, and telling
// the chat each step once. The supervisor (src/supervisor-hooks) judges and ships it; this side
// only prepares and asks, so nothing here can put code in place by itself.
import path from 'node:path';
import type Database from 'better-sqlite3';
import { KV, setKv } from '../queue/kv';
import type { InboxRow } from '../queue/row';
import {
  beginSelfRelease,
  markSelfReleaseTold,
  moveSelfRelease,
  newestSelfReleaseId,
  runningRevision,
  selfRelease,
  selfReleaseInFlight,
  selfReleaseOfItem,
  type SelfReleaseRow,
  setSelfReleaseCard,
  staleReadySelfReleases,
  untoldSelfReleases,
  updateSelfRelease,
} from '../queue/self-releases';
import { type CheckSummary, WORKER_APP } from '../shared/contracts';
import { cut } from '../shared/cut';
import { describeError, type Logger } from '../shared/log';
import { GIT_TIMEOUT_MS, type GitOptions } from '../workspace/git-runner';
import type { SandboxDecision } from '../workspace/sandbox';
import { ensureSelfClone, SELF_PROJECT, selfBaseCommit } from '../workspace/self-project';
import type { CommandReply, MoreCommands } from '../worker/handlers/command';
import type { Handler, Outcome } from '../worker/handlers/handler';
import type { TelegramClient } from '../worker/telegram/client';
import type { InlineKeyboard } from '../worker/telegram/keyboards';
import { inTopicOf } from '../worker/telegram/topic';
import { breakerState } from './breaker';
import { buildAndCheck, copyBuild, describeChecks, inspectChanges } from './prepare';

/** What the release flow needs. */
export interface SelfReleaseDeps {
  readonly sqlite: Database.Database;
  readonly telegram: Pick<TelegramClient, 'sendMessage' | 'editMessageText' | 'answerCallbackQuery'>;
  readonly log: Logger;
  readonly now: () => number;
  readonly self: { readonly on: boolean; readonly check: string; readonly checkSeconds: number };
  readonly approvers: readonly number[];
  readonly workspaces: string;
  readonly checkout: string;
  /** The folder of the database: builds go to `self-builds/`, outputs to `runs/`. */
  readonly stateDir: string;
  readonly sandbox: SandboxDecision;
  readonly git: GitOptions;
  /** A card nobody decided within this long is cancelled. */
  readonly decideWithinMs: number;
}

/** The answer while AGENT_SELF is off. */
export const SELF_RELEASE_OFF =
  'Self-release is off: the operator turns project self and /release on with AGENT_SELF=on.';
/** The answer to someone who is not an approver. */
export const NOT_AN_APPROVER_RELEASE = 'Only an approver (AGENT_APPROVERS) may release autonous.';

const PRESS = /^rl:([1-9]\d{0,15}):(go|no)$/;

/** A press on a release card: `rl:<id>:go|no`, or null when the data is not one. */
export function decodeReleasePress(data: string | null): { id: number; go: boolean } | null {
  const match = data === null ? null : PRESS.exec(data);
  return match === null ? null : { id: Number(match[1]), go: match[2] === 'go' };
}

/** The card's buttons. */
export function releaseKeyboard(id: number): InlineKeyboard {
  return [
    [
      { text: 'Release', callbackData: `rl:${id}:go` },
      { text: 'Cancel', callbackData: `rl:${id}:no` },
    ],
  ];
}

/** `/release` and `/release on`. */
export class SelfReleaseCommands implements MoreCommands {
  constructor(private readonly deps: SelfReleaseDeps) {}

  /** Runs `/release`, or returns null for another command. */
  async run(item: InboxRow, name: string, args: string, signal: AbortSignal): Promise<CommandReply | null> {
    if (name !== 'release') return null;
    const { deps } = this;
    if (!deps.self.on) return { text: SELF_RELEASE_OFF };
    if (item.fromId === null || !deps.approvers.includes(item.fromId))
      return { text: NOT_AN_APPROVER_RELEASE };
    const arg = args.trim().toLowerCase();
    if (arg === 'on') return { text: this.turnOn() };
    if (arg !== '') return { text: 'Use /release to build, check and release project self, or /release on.' };
    return this.release(item, signal);
  }

  private turnOn(): string {
    const { sqlite, now } = this.deps;
    const was = breakerState(sqlite);
    setKv(sqlite, KV.selfReleaseOnAfter, String(newestSelfReleaseId(sqlite)), now());
    return was.off
      ? 'Self-release is on again: the rollbacks before now no longer count.'
      : 'Self-release is on.';
  }

  private release(item: InboxRow, signal: AbortSignal): Promise<CommandReply> {
    return prepareRelease(this.deps, item, signal);
  }
}

/**
 * A release of project self for message `item` (`/release`, or a run's `release` tool): refused
 * before anything runs, or built and checked in the sandbox; the reply is the card while it waits
 * for an approver, else what became of it. A retry of the same message finds its release again.
 */
export async function prepareRelease(
  deps: SelfReleaseDeps,
  item: Pick<InboxRow, 'id' | 'chatId' | 'threadId' | 'fromId'>,
  signal: AbortSignal,
): Promise<CommandReply> {
  const { sqlite, now } = deps;
  const existing = selfReleaseOfItem(sqlite, item.id);
  // a retry of this message (the worker was killed): what was decided stays decided, and a card
  // Telegram took already is not sent twice
  if (existing?.status === 'ready' && existing.cardMessageId !== null) {
    return { text: `Release #${existing.id} waits for an approver on its card.` };
  }
  if (existing !== undefined && existing.status !== 'checking') return replyFor(deps, existing);
  if (existing === undefined) {
    const breaker = breakerState(sqlite);
    if (breaker.off) return { text: `${capital(breaker.reason)}.` };
    const inFlight = selfReleaseInFlight(sqlite);
    if (inFlight !== undefined) {
      return {
        text: `Release #${inFlight.id}${inFlight.revision ? ` (${inFlight.revision})` : ''} is under way: wait for its outcome, then /release again.`,
      };
    }
  }
  const running = runningRevision(sqlite, WORKER_APP);
  const clone = await ensureSelfClone(deps.workspaces, deps.checkout, deps.git.timeoutMs ?? GIT_TIMEOUT_MS);
  const base = running.commit ?? selfBaseCommit(deps.workspaces);
  const id = beginSelfRelease(
    sqlite,
    {
      inboxId: item.id,
      chatId: item.chatId!,
      threadId: item.threadId,
      fromId: item.fromId,
      baseRevision: running.id,
      baseCommit: base,
    },
    now(),
  );
  const git = { ...deps.git, signal };
  const verdict = await inspectChanges(clone.root, base, git);
  if (verdict.kind === 'refused') {
    updateSelfRelease(sqlite, id, { status: 'refused', reason: verdict.reason }, now());
    return replyFor(deps, selfRelease(sqlite, id)!);
  }
  const { changes } = verdict;
  const since = running.id ?? 'the revision running now';
  const summary = [
    `${changes.commitCount} commit${changes.commitCount === 1 ? '' : 's'} since ${since} (${changes.base.slice(0, 7)}..${changes.head.slice(0, 7)}):`,
    ...changes.commits,
    ...(changes.commitCount > changes.commits.length
      ? [`… and ${changes.commitCount - changes.commits.length} more`]
      : []),
    '',
    changes.stat,
  ].join('\n');
  updateSelfRelease(sqlite, id, { status: 'checking', commit: changes.head, summary }, now());
  deps.log.info('self-release: building and checking', { id, commit: changes.head.slice(0, 12) });
  const result = await buildAndCheck(clone.root, id, {
    sandbox: deps.sandbox,
    git: deps.git,
    check: deps.self.check,
    timeoutMs: deps.self.checkSeconds * 1000,
    outputDir: path.join(deps.stateDir, 'runs'),
    signal,
  });
  const checks = JSON.stringify(result.checks);
  if (!result.checks.passed) {
    const what = result.built ? 'The checks' : 'The build';
    const reason = `${what} ${describeChecks(result.checks)}`;
    updateSelfRelease(
      sqlite,
      id,
      { status: 'failed', checks, reason: `${reason}:\n${lastLines(result.tail, 15)}` },
      now(),
    );
    return replyFor(deps, selfRelease(sqlite, id)!);
  }
  const buildDir = path.join(deps.stateDir, 'self-builds', String(id));
  try {
    copyBuild(clone.root, buildDir);
  } catch (err) {
    // copyBuild's errors are sentences of our own; the checks ran, so it is not a refusal before
    const reason = `The build cannot be released: ${err instanceof Error ? err.message : String(err)}`;
    updateSelfRelease(sqlite, id, { status: 'failed', checks, reason }, now());
    return replyFor(deps, selfRelease(sqlite, id)!);
  }
  updateSelfRelease(sqlite, id, { status: 'ready', checks, buildDir }, now());
  deps.log.info('self-release: checks passed, asking', { id });
  return replyFor(deps, selfRelease(sqlite, id)!);
}

/** The reply a release's state calls for: the card while it waits, else what became of it. */
function replyFor(deps: SelfReleaseDeps, release: SelfReleaseRow): CommandReply {
  switch (release.status) {
    case 'ready':
      return {
        text: cardText(release),
        card: {
          keyboard: releaseKeyboard(release.id),
          sent: (messageId) => setSelfReleaseCard(deps.sqlite, release.id, messageId),
        },
      };
    case 'refused':
      return {
        text: `Release #${release.id} refused before anything ran: ${release.reason ?? 'no reason recorded'}.`,
      };
    case 'failed':
      return { text: `Release #${release.id} not offered. ${release.reason ?? ''}`.trim() };
    default:
      return { text: `Release #${release.id}: ${release.status.replace('_', ' ')}.` };
  }
}

/**
 * The `release` tool's port: prepares the release for the run's message and sends the card itself
 * (a run has no reply to carry it); what the model is told. Project self only.
 */
export async function releaseFromRun(
  deps: SelfReleaseDeps,
  item: InboxRow,
  project: string,
  signal: AbortSignal,
): Promise<{ readonly ok: boolean; readonly text: string }> {
  if (project !== SELF_PROJECT) {
    return { ok: false, text: `release releases project self; this run works in project ${project}.` };
  }
  const before = selfReleaseOfItem(deps.sqlite, item.id);
  if (before !== undefined && before.status !== 'checking') {
    return {
      ok: false,
      text: `This message's release #${before.id} was prepared already: it is ${before.status}.`,
    };
  }
  const reply = await prepareRelease(deps, item, signal);
  if (reply.card === undefined) return { ok: false, text: reply.text };
  const messageId = await deps.telegram.sendMessage(
    item.chatId!,
    reply.text,
    { html: false, replyTo: item.messageId, keyboard: reply.card.keyboard },
    signal,
  );
  reply.card.sent(messageId);
  return {
    ok: true,
    text: `${reply.text}\n\nThe card was sent to the chat: an approver decides with Release or Cancel, and the chat is told each step. Nothing more happens in this run.`,
  };
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

function parseChecks(json: string | null): CheckSummary | null {
  try {
    return json === null ? null : (JSON.parse(json) as CheckSummary);
  } catch {
    return null;
  }
}

/** The card: what would ship, what the checks said, and what Release does. */
export function cardText(release: SelfReleaseRow): string {
  const checks = parseChecks(release.checks);
  return cut(
    [
      `Release #${release.id} of project self, commit ${release.commit?.slice(0, 7) ?? '?'}`,
      release.summary ?? '',
      '',
      `Checks ${checks === null ? 'unknown' : describeChecks(checks)}.`,
      'Release makes it a candidate: the supervisor promotes it once it runs well and reports itself ready, or rolls it back.',
    ].join('\n'),
    3500,
  );
}

/** Presses on release cards (`rl:`), decided by approvers only, each release once. */
export class ReleasePressHandler implements Handler {
  constructor(private readonly deps: SelfReleaseDeps) {}

  /** One press. */
  async handle(item: InboxRow, signal: AbortSignal): Promise<Outcome> {
    const { deps } = this;
    const press = decodeReleasePress(item.text);
    const release = press === null ? undefined : selfRelease(deps.sqlite, press.id);
    if (press === null || release === undefined || release.chatId !== item.chatId) {
      await this.answer(item, 'This button does nothing now.', signal);
      return { kind: 'skipped', reason: 'not a release of this chat' };
    }
    if (item.fromId === null || !deps.approvers.includes(item.fromId)) {
      await this.answer(item, NOT_AN_APPROVER_RELEASE, signal);
      return { kind: 'skipped', reason: 'pressed by someone who is not an approver' };
    }
    const moved = press.go
      ? moveSelfRelease(deps.sqlite, press.id, 'ready', 'requested', deps.now())
      : moveSelfRelease(deps.sqlite, press.id, 'ready', 'cancelled', deps.now(), 'cancelled by an approver');
    const now = selfRelease(deps.sqlite, press.id)!;
    if (!moved) {
      await this.answer(item, `Release #${press.id} is ${now.status.replace('_', ' ')} already.`, signal);
      return { kind: 'done' };
    }
    deps.log.info('self-release decided', { id: press.id, release: press.go });
    await this.answer(item, press.go ? 'Released to the supervisor.' : 'Cancelled.', signal);
    await this.closeCard(
      now,
      press.go
        ? 'Release pressed: the supervisor makes it a candidate and restarts the worker on it.'
        : 'Cancelled: nothing was released.',
      signal,
    );
    return { kind: 'done' };
  }

  private async closeCard(release: SelfReleaseRow, line: string, signal: AbortSignal): Promise<void> {
    if (release.cardMessageId === null) return;
    try {
      await this.deps.telegram.editMessageText(
        release.chatId,
        release.cardMessageId,
        cut(`${cardText(release)}\n\n${line}`, 4000),
        {},
        signal,
      );
    } catch (err) {
      this.deps.log.warn('could not close a release card', { id: release.id, error: describeError(err) });
    }
  }

  private async answer(item: InboxRow, text: string, signal: AbortSignal): Promise<void> {
    if (item.callbackId === null) return;
    try {
      await this.deps.telegram.answerCallbackQuery(item.callbackId, text, false, signal);
    } catch (err) {
      this.deps.log.warn('could not answer a press', { error: describeError(err) });
    }
  }
}

/** The sentence for a step of a release, or null when it has none to tell. */
export function stepLine(
  release: SelfReleaseRow,
  step: 'released' | 'outcome',
  breakerReason: string | null,
): string | null {
  if (step === 'released') {
    return `Release #${release.id} is out as ${release.revision ?? '?'}${release.baseRevision ? ` (was ${release.baseRevision})` : ''}: the worker restarted on it; it becomes good once it runs well and reports itself ready.`;
  }
  switch (release.status) {
    case 'promoted':
      return `${release.revision ?? 'The release'} is promoted: it ran well and reported itself ready.`;
    case 'rolled_back': {
      const back = release.rolledBackTo ? `${release.rolledBackTo} is running again` : 'the worker is halted';
      const off = breakerReason === null ? '' : ` ${capital(breakerReason)}.`;
      return `${release.revision ?? 'The release'} was rolled back: ${release.reason ?? 'no reason recorded'}; ${back}.${off}`;
    }
    case 'failed':
      return `Release #${release.id} was not released: ${release.reason ?? 'no reason recorded'}.`;
    default:
      return null;
  }
}

/**
 * Tells each chat the steps of its releases it was not told yet (released as rN; promoted, or
 * rolled back with the reason), once each: a step is remembered as told right after Telegram
 * accepted it, so a restart repeats only what was not sent. Also cancels cards nobody decided.
 */
export async function announceSelfReleases(deps: SelfReleaseDeps, signal?: AbortSignal): Promise<void> {
  const { sqlite, now, log } = deps;
  for (const stale of staleReadySelfReleases(sqlite, now() - deps.decideWithinMs)) {
    moveSelfRelease(sqlite, stale.id, 'ready', 'cancelled', now(), 'nobody decided in time');
  }
  for (const release of untoldSelfReleases(sqlite)) {
    if (signal?.aborted) return;
    const steps: ('released' | 'outcome')[] = [];
    if (release.revision !== null && release.releasedToldAt === null) steps.push('released');
    if (release.outcomeToldAt === null && ['promoted', 'rolled_back', 'failed'].includes(release.status))
      steps.push('outcome');
    for (const step of steps) {
      const breaker = breakerState(sqlite);
      const line = stepLine(release, step, breaker.off ? breaker.reason : null);
      try {
        if (line !== null) {
          await inTopicOf(release, () =>
            deps.telegram.sendMessage(release.chatId, line, { html: false, replyTo: null }, signal),
          );
        }
        markSelfReleaseTold(sqlite, release.id, step, now());
      } catch (err) {
        log.warn('could not tell a chat about its release; trying again later', {
          id: release.id,
          error: describeError(err),
        });
        return;
      }
    }
  }
}

/** Announces at once and every `everyMs` until stopped. */
export function startSelfReleaseAnnouncer(deps: SelfReleaseDeps, everyMs = 2000): { stop(): Promise<void> } {
  const controller = new AbortController();
  let running: Promise<void> = Promise.resolve();
  const tick = (): void => {
    running = running.then(() =>
      announceSelfReleases(deps, controller.signal).catch((err: unknown) =>
        deps.log.warn('self-release announcements failed', { error: describeError(err) }),
      ),
    );
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      controller.abort();
      await running;
    },
  };
}

/** The line of `/status` about self-release, or null when it is not on. */
export function selfReleaseStatusLine(sqlite: Database.Database, on: boolean): string | null {
  if (!on) return null;
  const breaker = breakerState(sqlite);
  if (breaker.off) return `Self-release: off. ${capital(breaker.reason)}.`;
  const inFlight = selfReleaseInFlight(sqlite);
  return inFlight === undefined
    ? 'Self-release: on (/release in project self).'
    : `Self-release: on; release #${inFlight.id} ${inFlight.revision ? `(${inFlight.revision}) ` : ''}is ${inFlight.status}.`;
}
