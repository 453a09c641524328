// What ends an agent run from outside it: a `/stop` that skips its message, or its message dying
// (out of attempts, or the worker dying under it every time). The journal must never show a run
// running whose message will not be worked on again.

import { abortText } from '../agent/abort-reasons';
import type { InboxRow } from '../queue/row';
import type { Store } from '../queue/store';
import type { Logger } from '../shared/log';
import type { EdgeError } from './errors';

/** Why the run of a dead message failed, as the journal shows it. */
export const DEAD_RUN_ERROR = 'its message is dead (out of attempts)';

/** What ending runs needs. */
export interface RunEndingDeps {
  readonly store: Pick<Store, 'runOfItem' | 'finishRunOf'>;
  /** Expires the approvals a run still waits on, now; returns how many. */
  readonly expireApprovals: (runId: number, now: number) => number;
  /** Some approvals were just expired: their cards must lose their buttons (the sweeper's poke). */
  readonly onApprovalsExpired: () => void;
  /** Whether the worker answers this chat (a dead notice goes only to one it answers). */
  readonly isAllowed: (chatId: number) => boolean;
  /** Tells the person their message could not be answered, and why (best effort, never throws). */
  readonly sendDeadNotice: (item: InboxRow, error?: EdgeError) => Promise<void>;
  readonly log: Logger;
  readonly now: () => number;
}

/** The rules of how a run ends when its message does. */
export class RunEnding {
  constructor(private readonly deps: RunEndingDeps) {}

  /** `/stop` skipped these messages: their runs end cancelled, and cards they waited on expire. */
  stopped(inboxIds: readonly number[]): void {
    const { store, now } = this.deps;
    for (const id of inboxIds) {
      const run = store.runOfItem(id);
      if (run === undefined) continue;
      store.finishRunOf(id, { status: 'cancelled', error: abortText('stopped-by-user') }, now());
      if (this.deps.expireApprovals(run.id, now()) > 0) this.deps.onApprovalsExpired();
    }
  }

  /**
   * A message is dead: its run, if still open, ends failed, and its chat is told (if answered),
   * with the failure that made it dead when there was one (none when the worker died under it).
   */
  dead(item: InboxRow, error?: EdgeError): void {
    if (this.deps.store.finishRunOf(item.id, { status: 'failed', error: DEAD_RUN_ERROR }, this.deps.now())) {
      this.deps.log.warn('the run of a dead message ended failed', { id: item.id });
    }
    if (item.chatId !== null && this.deps.isAllowed(item.chatId)) void this.deps.sendDeadNotice(item, error);
  }
}
