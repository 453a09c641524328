// The worker's readiness, which the supervisor reads from the worker's own `supervisor_state` row
// before it promotes a candidate revision: when this process opened its database, had a poll of
// Telegram answered, and took a self-test item through its own scheduler. Each start begins from
// nothing, so a row never mixes two processes.

import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { writeReadiness } from '../queue/heartbeat';
import type { InboxRow } from '../queue/row';
import { clearSelftests, enqueueSelftest, revisionStatus } from '../queue/selftest';
import { READINESS_PARTS, REVISION_ID, type Readiness } from '../shared/contracts';
import { describeError, type Logger } from '../shared/log';
import type { Outcome } from './handlers/handler';
import type { Polling } from './polling';

/** One part of readiness: `database`, `poll` or `selftest`. */
export type ReadinessPart = keyof typeof READINESS_PARTS;

// A write the database refused (locked past busy_timeout) is tried again: a lost write would hold
// a sound candidate back until the supervisor rolls it back.
const RETRY_MS = 1000;

/** The readiness of a process that has reached nothing yet. */
export function notReady(pid: number, startedAt: number): Readiness {
  return { pid, startedAt, database: null, poll: null, selftest: null };
}

/** `readiness` with `part` reached at `at`; a part keeps the time it was first reached (same object then). */
export function reach(readiness: Readiness, part: ReadinessPart, at: number): Readiness {
  return readiness[part] === null ? { ...readiness, [part]: at } : readiness;
}

/** When the last part was reached, or null while one is missing. */
export function readyAt(readiness: Readiness): number | null {
  const { database, poll, selftest } = readiness;
  if (database === null || poll === null || selftest === null) return null;
  return Math.max(database, poll, selftest);
}

/**
 * The revision the running code belongs to, from its real folder (`<releases>/<id>/dist/worker`
 * once the `current` link is resolved): the folder two levels up, when its name is a revision id;
 * null otherwise (a checkout, a test).
 */
export function revisionOfFolder(folder: string): string | null {
  const name = path.basename(path.resolve(folder, '..', '..'));
  return REVISION_ID.test(name) ? name : null;
}

/**
 * Whether a start must prove its scheduler with a self-test item: only a candidate must, so the
 * revisions already judged good start without one and leave the inbox as their messages made it.
 */
export function needsSelftest(status: string | null): boolean {
  return status === 'candidate';
}

/**
 * A self-test item's update id: negative, so it never meets a Telegram update (whose ids are
 * positive), and new at each start (`now` in ms times 1000 plus noise; safe integers for centuries).
 */
export function selftestUpdateId(now: number, random: number): number {
  return -(Math.trunc(now) * 1000 + Math.floor(random * 1000) + 1);
}

/** What readiness needs. */
export interface ReadinessDeps {
  readonly sqlite: Database.Database;
  readonly log: Logger;
  readonly now: () => number;
  readonly random?: () => number;
  /** The revision this process runs (null: none); when not given, the running code's folder says. */
  readonly revision?: string | null;
}

/**
 * Starts this process's readiness, right after its database was opened and migrated: clears the
 * self-test rows earlier processes left, writes the row anew (database reached, a new pid), and
 * decides whether this start needs a self-test item. Call before anything is claimed.
 */
export function startReadiness(deps: ReadinessDeps): ReadinessReport {
  const { sqlite, log, now } = deps;
  const at = now();
  clearSelftests(sqlite);
  const revision = deps.revision === undefined ? revisionOfFolder(realFolder(__dirname)) : deps.revision;
  const candidate = revision !== null && needsSelftest(revisionStatus(sqlite, revision));
  let readiness = reach(notReady(process.pid, at - Math.round(process.uptime() * 1000)), 'database', at);
  if (candidate) {
    log.info('a candidate revision: its self-test item goes through the scheduler once ingress is ready', {
      revision,
    });
  } else {
    // a revision already judged needs no proof: its row is complete once it has polled
    readiness = reach(readiness, 'selftest', at);
  }
  return new ReadinessReport(deps, candidate, readiness);
}

/** This process's readiness: reached part by part, written whole to the worker's row each time. */
export class ReadinessReport {
  /** The inbox id of this process's self-test item, once queued. */
  private selftestId: number | null = null;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: ReadinessDeps,
    private readonly candidate: boolean,
    private readiness: Readiness,
  ) {
    this.write();
  }

  /**
   * Follows ingress: its first poll that worked is the poll part, and once it is ready (what
   * Telegram held is stored, a cold start filtered) a candidate's self-test item is queued.
   * Resolves when the scheduler may start: after that item is queued.
   */
  follow(polling: Pick<Polling, 'ready' | 'polled'>): Promise<void> {
    void polling.polled.then(() => this.reached('poll'));
    return polling.ready.then(() => this.queueSelftest());
  }

  /** The scheduler settled an item: this process's self-test item settled done is the selftest part. */
  settled(item: InboxRow, outcome: Outcome): void {
    if (item.id === this.selftestId && outcome.kind === 'done') this.reached('selftest');
  }

  private queueSelftest(): void {
    if (!this.candidate || this.selftestId !== null) return;
    const { sqlite, now, random = Math.random } = this.deps;
    try {
      const at = now();
      this.selftestId = enqueueSelftest(sqlite, selftestUpdateId(at, random()), at);
    } catch (err) {
      // the scheduler starts anyway; the candidate will not report ready and is rolled back
      this.deps.log.error('could not queue the self-test item: this revision cannot report itself ready', {
        error: describeError(err),
      });
    }
  }

  private reached(part: ReadinessPart): void {
    const next = reach(this.readiness, part, this.deps.now());
    if (next === this.readiness) return;
    this.readiness = next;
    this.write();
    const ready = readyAt(next);
    if (ready !== null) this.deps.log.info('worker ready', { ...next, readyAt: ready });
  }

  private write(): void {
    const { sqlite, log, now } = this.deps;
    clearTimeout(this.retry);
    try {
      writeReadiness(sqlite, this.readiness, readyAt(this.readiness), now());
    } catch (err) {
      log.warn('could not write readiness; trying again', { error: describeError(err) });
      if (!sqlite.open) return;
      this.retry = setTimeout(() => this.write(), RETRY_MS);
      this.retry.unref();
    }
  }
}

/** The real path of `folder` (links resolved), or `folder` itself when it cannot be resolved. */
function realFolder(folder: string): string {
  try {
    return fs.realpathSync(folder);
  } catch {
    return folder;
  }
}
