import type { QueueStats } from '../../queue/admin/stats';
import type { Paint } from './colour';
import { paintStatus } from './queue';
import { renderFields, renderTable } from './table';
import { cut } from './text';
import { formatAge, formatDuration, formatTime } from './time';

/** `queue stats --json` (see docs/cli.md, section queue stats). */
export interface StatsJson extends QueueStats {
  readonly windowMs: number;
  readonly oldestWaitingAgeMs: number | null;
}

/** The JSON form of the statistics. */
export function statsJson(stats: QueueStats): StatsJson {
  return {
    ...stats,
    windowMs: stats.now - stats.since,
    oldestWaitingAgeMs: stats.oldestWaitingAt === null ? null : stats.now - stats.oldestWaitingAt,
  };
}

/** Counts per status on one line: `queued 3  processing 1  ...`. */
export function renderCounts(counts: Readonly<Record<string, number>>, paint: Paint): string {
  return Object.entries(counts)
    .map(([status, n]) => `${paintStatus(status, paint)} ${n}`)
    .join('  ');
}

const ms = (value: number | null): string => (value === null ? '-' : formatDuration(value));

/** `queue stats` as a screen of labelled lines and a table of the top errors. */
export function renderStats(stats: QueueStats, window: string, paint: Paint): string {
  const finished = stats.done + stats.dead;
  const rate =
    stats.errorRate === null
      ? '- (nothing finished)'
      : `${(stats.errorRate * 100).toFixed(1)}% (${stats.dead} dead of ${finished} finished)`;
  const latency = stats.latencyMs;
  const lines = renderFields(
    [
      ['window', `last ${window} (since ${formatTime(stats.since)})`],
      ['queue', renderCounts(stats.counts, paint)],
      [
        'oldest waiting',
        stats.oldestWaitingAt === null ? 'nothing waits' : formatAge(stats.oldestWaitingAt, stats.now),
      ],
      ['throughput', `${stats.done} done, ${stats.throughputPerHour.toFixed(1)}/h`],
      [
        'latency',
        latency.count === 0
          ? '- (no replies in the window)'
          : `p50 ${ms(latency.p50)}  p95 ${ms(latency.p95)}  max ${ms(latency.max)}  (receipt to reply, ${latency.count} replies)`,
      ],
      ['error rate', rate],
    ],
    paint,
  );
  if (stats.topErrors.length === 0) return `${lines}\n\nNo errors in the window.`;
  const table = renderTable(
    ['COUNT', 'CLASS', 'CODE', 'ERROR'],
    stats.topErrors.map((e) => [e.count, e.errorClass, e.errorCode, cut(e.error, 80)]),
    paint,
  );
  return `${lines}\n\nMost common errors:\n${table}`;
}
