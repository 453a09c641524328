import type { Pm2Snapshot } from '../pm2';
import type { Assessment, StatusSnapshot, StatusThresholds } from '../status/assess';
import type { Paint } from './colour';
import type { EdgeHealth } from '../../shared/health';
import { renderCounts } from './stats';
import { renderFields, renderTable } from './table';
import { formatAge, formatDuration } from './time';

/** `status --json` (see docs/cli.md, section status). */
export function statusJson(
  snapshot: StatusSnapshot,
  limits: StatusThresholds,
  assessment: Assessment,
): object {
  const { now, pm2, supervisor, queue } = snapshot;
  return {
    ok: assessment.problems.length === 0,
    problems: assessment.problems,
    warnings: assessment.warnings,
    checkedAt: now,
    pm2: pm2.reachable
      ? { reachable: true, home: pm2.home, error: null, apps: pm2.apps }
      : { reachable: false, home: pm2.home, error: pm2.error, apps: [] },
    supervisor: supervisor.worker,
    heartbeatAt: supervisor.heartbeatAt,
    heartbeatAgeMs: supervisor.heartbeatAt === null ? null : now - supervisor.heartbeatAt,
    revision: supervisor.revision,
    queue: {
      counts: queue.counts,
      oldestWaitingAt: queue.oldestWaitingAt,
      oldestWaitingAgeMs: queue.oldestWaitingAt === null ? null : now - queue.oldestWaitingAt,
      deadRecent: queue.deadRecent,
      deadWindowMs: limits.deadWindowMs,
    },
    health: snapshot.health,
    selfReleaseOff: snapshot.selfReleaseOff ?? null,
  };
}

/** One edge's health on a line: working (since when it last worked), or failing since when, and why. */
function renderHealth(health: EdgeHealth, now: number): string {
  if (health.failingSince !== null) {
    return `failing for ${formatDuration(now - health.failingSince)}: ${health.lastError ?? 'unknown error'}`;
  }
  return health.lastOkAt === null ? 'no record yet' : `ok (last success ${formatAge(health.lastOkAt, now)})`;
}

const megabytes = (bytes: number | null): string =>
  bytes === null ? '-' : `${(bytes / 1048576).toFixed(1)} MB`;

function renderPm2(pm2: Pm2Snapshot, paint: Paint): string {
  if (!pm2.reachable) return `${paint.bold('PM2')} ${paint.red('unreachable')}: ${pm2.error}`;
  if (pm2.apps.length === 0) return `${paint.bold('PM2')} (${pm2.home}): no apps`;
  const table = renderTable(
    ['APP', 'STATUS', 'RESTARTS', 'UPTIME', 'MEMORY', 'CPU', 'PID'],
    pm2.apps.map((app) => [
      app.name,
      app.status === 'online' ? paint.green(app.status) : paint.red(app.status),
      app.restarts,
      app.uptimeMs === null ? '-' : formatDuration(app.uptimeMs),
      megabytes(app.memoryBytes),
      app.cpuPercent === null ? '-' : `${app.cpuPercent}%`,
      app.pid,
    ]),
    paint,
  );
  return `${paint.bold('PM2')} (${pm2.home})\n${table}`;
}

/** `status` as one screen: PM2 apps, supervisor, revision, heartbeat, queue, then the verdict. */
export function renderStatus(
  snapshot: StatusSnapshot,
  limits: StatusThresholds,
  assessment: Assessment,
  paint: Paint,
): string {
  const { now, supervisor, queue } = snapshot;
  const worker = supervisor.worker;
  const rev = supervisor.revision;
  const fields = renderFields(
    [
      [
        'supervisor',
        worker === null
          ? 'no record yet'
          : [
              worker.status ?? 'unknown',
              worker.since !== null ? `since ${formatAge(worker.since, now)}` : null,
              `${worker.restartsInWindow} restarts in window`,
              worker.lastExitCode !== null ? `last exit code ${worker.lastExitCode}` : null,
              worker.reason,
            ]
              .filter((part) => part !== null)
              .join(', '),
      ],
      [
        'revision',
        rev !== null
          ? `${rev.id} (${rev.status}, created ${formatAge(rev.createdAt, now)})`
          : (worker?.revision ?? 'none recorded'),
      ],
      ['heartbeat', supervisor.heartbeatAt === null ? 'never' : formatAge(supervisor.heartbeatAt, now)],
      ['queue', renderCounts(queue.counts, paint)],
      [
        'oldest waiting',
        queue.oldestWaitingAt === null ? 'nothing waits' : formatAge(queue.oldestWaitingAt, now),
      ],
      [`dead in ${formatDuration(limits.deadWindowMs)}`, String(queue.deadRecent)],
      ['polling', renderHealth(snapshot.health.polling, now)],
      ['model', renderHealth(snapshot.health.model, now)],
    ],
    paint,
  );
  const verdict =
    assessment.problems.length === 0
      ? [paint.green('OK: nothing is wrong.')]
      : assessment.problems.map((p) => `${paint.red('✗')} ${p}`);
  const warnings = assessment.warnings.map((w) => `${paint.yellow('!')} ${w}`);
  return [renderPm2(snapshot.pm2, paint), '', fields, '', ...warnings, ...verdict].join('\n');
}
