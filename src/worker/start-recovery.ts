// What a start does about the worker that ran before it: commands it left running are killed, and
// messages it left `processing` go back with the attempt counted (dead when out of crash attempts).

import type Database from 'better-sqlite3';
import { recoverInterrupted } from '../queue/settle';
import type { InboxRow } from '../queue/row';
import type { WorkerConfig } from '../shared/config';
import type { Logger } from '../shared/log';
import { reapOrphans } from '../workspace/orphans';
import { crashAttemptLimit, retryPolicy } from './policy';

/** What recovery at start needs. */
export interface StartRecoveryDeps {
  readonly sqlite: Database.Database;
  /** Where the runs' command outputs (and the markers of their process groups) are. */
  readonly runsDir: string;
  readonly log: Logger;
  readonly now: () => number;
  /** A message died here (the worker stopped under it on every attempt). */
  readonly onDead: (item: InboxRow) => void;
}

/**
 * Recovers what a stopped worker left, before anything is claimed. Commands go first: unsandboxed
 * ones outlive their worker, and an interrupted command's outcome must not land after its run
 * resumed and the model was told it was interrupted.
 */
export function recoverAtStart(config: WorkerConfig, deps: StartRecoveryDeps): void {
  const reaped = reapOrphans(deps.runsDir);
  if (reaped > 0) deps.log.warn('killed commands a stopped worker had left running', { groups: reaped });
  const policy = { ...retryPolicy(config), maxAttempts: crashAttemptLimit(config) };
  for (const item of recoverInterrupted(deps.sqlite, policy, deps.now())) {
    deps.log.error('message is dead: the worker stopped while processing it on every attempt', {
      id: item.id,
      attempts: item.attempts,
    });
    deps.onDead(item);
  }
}
