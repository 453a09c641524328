// The timer that expires approvals nobody decided: at the next pending approval's expiry (and at
// start, for those that expired while the worker was down) it marks them expired, edits their
// cards to say so, and wakes their runs, which give the model the denial.

import type { ApprovalStore } from '../../queue/agent/approval-store';
import { describeError } from '../../shared/log';
import { updateCard, wakeRun, type DecisionDeps } from './decision';
import { nextSweepDelay } from './expiry-wake';

/** Without a known expiry the sweeper looks again this often (approvals asked elsewhere). */
export const SWEEP_RECHECK_MS = 60_000;

/** What the sweeper needs (no approver list: nobody decides an expiry). */
export type SweeperDeps = Omit<DecisionDeps, 'approvers' | 'approvals'> & {
  readonly approvals: Pick<ApprovalStore, 'detail' | 'expireDue' | 'nextExpiry'>;
};

/** Expires due approvals on a timer; `poke` after asking one, `stop` before closing the database. */
export class ApprovalSweeper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: SweeperDeps,
    private readonly recheckMs = SWEEP_RECHECK_MS,
  ) {}

  /** Sweeps once now (approvals that expired while the worker was down), then on the timer. */
  start(): void {
    this.poke();
  }

  /** Looks at the next expiry again (a new approval may expire sooner than the timer's). */
  poke(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), 0);
  }

  /** Stops the timer and waits for a sweep under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping;
  }

  /** Expires what is due now; returns how many. Safe to call at any time. */
  async sweep(): Promise<number> {
    const { deps } = this;
    const expired = deps.approvals.expireDue(deps.now());
    for (const { approval, inboxId } of expired) {
      wakeRun(deps, { inboxId });
      deps.log.info('approval expired: nobody decided in time', {
        approvalId: approval.id,
        runId: approval.runId,
      });
      const detail = deps.approvals.detail(approval.id);
      if (detail === undefined || this.stopped) continue;
      try {
        await updateCard(deps, detail);
      } catch (err) {
        // the approval is expired all the same; a later press on the card edits it (decision.ts)
        deps.log.warn('could not mark an approval card expired', {
          approvalId: approval.id,
          error: describeError(err),
        });
      }
    }
    return expired.length;
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.sweeping) return;
    this.sweeping = this.sweep()
      .then(() => undefined)
      .catch((err: unknown) => this.deps.log.warn('approval sweep failed', { error: describeError(err) }))
      .finally(() => (this.sweeping = undefined));
    await this.sweeping;
    if (this.stopped) return;
    let next: number | undefined;
    try {
      next = this.deps.approvals.nextExpiry();
    } catch (err) {
      this.deps.log.warn('could not read the next approval expiry', { error: describeError(err) });
    }
    clearTimeout(this.timer);
    // +1: expires_at <= now is due, so wake just after it
    const delay = nextSweepDelay(next === undefined ? undefined : next + 1, this.deps.now(), this.recheckMs);
    this.timer = setTimeout(() => void this.tick(), delay);
  }
}
