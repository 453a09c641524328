import type { StatusCounts } from '../../queue/admin/counts';
import { migrationAdvice } from '../../queue/migrate-chat';
import { APPS } from '../../shared/contracts';
import { type Pm2Snapshot } from '../pm2';
import { formatDuration } from '../render/time';
import type { SupervisorRecords } from './supervisor';
import type { EdgeHealth } from '../../shared/health';

/** The queue as `status` summarises it. */
export interface QueueSummary {
  readonly counts: StatusCounts;
  readonly oldestWaitingAt: number | null;
  /** Items that died within the dead window. */
  readonly deadRecent: number;
}

/** Everything `status` looked at. */
export interface StatusSnapshot {
  readonly now: number;
  readonly pm2: Pm2Snapshot;
  readonly supervisor: SupervisorRecords;
  readonly queue: QueueSummary;
  /** How the worker's edges are doing, as it recorded it. */
  readonly health: { readonly polling: EdgeHealth; readonly model: EdgeHealth };
  /** Allowed groups that became supergroups (new id → old id), until TG_ALLOWED_CHAT_IDS lists them. */
  readonly migrations?: ReadonlyMap<number, number>;
  /** Self-release turned off by its circuit breaker (the sentence), or null. */
  readonly selfReleaseOff?: string | null;
}

/** When `status` calls something wrong. */
export interface StatusThresholds {
  /** No heartbeat for this long is a problem (the supervisor's own timeout); null: not judged. */
  readonly heartbeatTimeoutMs: number | null;
  /** The oldest waiting message arrived longer ago than this. */
  readonly maxWaitMs: number;
  /** A message died within this window. */
  readonly deadWindowMs: number;
  /** Polling Telegram failing for longer than this is a problem. */
  readonly maxPollFailureMs: number;
}

/** Problems make `status` exit 1; warnings are shown but do not. */
export interface Assessment {
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * Decides what is wrong. Problems: the PM2 daemon unreachable, an app missing or not online,
 * the supervisor reporting the worker `crash_loop`, `halted` or `stopped`, a stale heartbeat, a message waiting longer than
 * allowed, a message that died recently, polling Telegram failing for longer than allowed.
 * Warnings: a rollback happened, a crash was seen, no heartbeat was ever written, polling failing
 * for less than that, the model's calls failing. Pure.
 */
export function assessStatus(snapshot: StatusSnapshot, limits: StatusThresholds): Assessment {
  const problems: string[] = [];
  const warnings: string[] = [];
  const { now, pm2, supervisor, queue } = snapshot;

  if (!pm2.reachable) {
    problems.push(`PM2 is not reachable (${pm2.error}): start the apps with \`npm start\`.`);
  } else {
    for (const name of APPS) {
      const app = pm2.apps.find((a) => a.name === name);
      if (!app) problems.push(`PM2 has no app ${name}: start it with \`pm2 start ecosystem.config.cjs\`.`);
      else if (app.status !== 'online') problems.push(`${name} is ${app.status}, not online.`);
    }
  }

  for (const [to, from] of snapshot.migrations ?? []) warnings.push(migrationAdvice(from, to));
  if (snapshot.selfReleaseOff) warnings.push(snapshot.selfReleaseOff);

  const worker = supervisor.worker;
  const reason = worker?.reason ? `: ${worker.reason}` : '';
  if (worker?.status === 'crash_loop' || worker?.status === 'halted' || worker?.status === 'stopped') {
    problems.push(`The supervisor reports the worker ${worker.status}${reason}.`);
  } else if (worker?.status === 'rolled_back') {
    warnings.push(`The worker was rolled back${reason}.`);
  } else if (worker?.status === 'crashed') {
    warnings.push(`The worker crashed recently${reason}.`);
  }

  if (supervisor.heartbeatAt === null) {
    warnings.push('The worker has not written a heartbeat yet.');
  } else if (limits.heartbeatTimeoutMs !== null && now - supervisor.heartbeatAt > limits.heartbeatTimeoutMs) {
    problems.push(
      `The worker's last heartbeat was ${formatDuration(now - supervisor.heartbeatAt)} ago (limit ${formatDuration(
        limits.heartbeatTimeoutMs,
      )}): it is down or hung.`,
    );
  }

  if (queue.oldestWaitingAt !== null && now - queue.oldestWaitingAt > limits.maxWaitMs) {
    problems.push(
      `The oldest waiting message arrived ${formatDuration(now - queue.oldestWaitingAt)} ago (limit ${formatDuration(
        limits.maxWaitMs,
      )}): see \`autonous queue ls --status failed\`.`,
    );
  }
  if (queue.deadRecent > 0) {
    const noun = queue.deadRecent === 1 ? 'message' : 'messages';
    problems.push(
      `${queue.deadRecent} ${noun} died in the last ${formatDuration(limits.deadWindowMs)}: see \`autonous queue dead\`.`,
    );
  }
  const { polling, model } = snapshot.health;
  if (polling.failingSince !== null) {
    const failing = now - polling.failingSince;
    const what = `Polling Telegram has failed for ${formatDuration(failing)}: ${polling.lastError ?? 'unknown error'}`;
    if (failing > limits.maxPollFailureMs) {
      problems.push(
        `${what} (limit ${formatDuration(limits.maxPollFailureMs)}). Check the network and TELEGRAM_API_ROOT.`,
      );
    } else warnings.push(`${what}.`);
  }
  if (model.failingSince !== null) {
    warnings.push(
      `The model's calls have been failing for ${formatDuration(now - model.failingSince)}: ${model.lastError ?? 'unknown error'}.`,
    );
  }
  return { problems, warnings };
}
