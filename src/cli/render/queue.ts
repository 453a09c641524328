import type { InboxRow, InboxStatus } from '../../db/schema';
import type { PurgeRequest, PurgeResult } from '../../queue/admin/purge';
import type { Requeued } from '../../queue/admin/retry';
import type { Paint } from './colour';
import { renderTable } from './table';
import { cut } from './text';
import { formatAge, formatDue, formatTime } from './time';

/** How many characters of a message or an error a table shows (and JSON, without `--full`). */
export const PREVIEW_CHARS = 60;
const ERROR_CHARS = 48;

/** An inbox item as `queue ls --json` and `queue dead --json` print it (docs/cli.md, section queue ls). */
export interface ItemJson {
  readonly id: number;
  readonly updateId: number;
  readonly chatId: number | null;
  readonly messageId: number | null;
  readonly kind: string;
  readonly status: InboxStatus;
  readonly attempts: number;
  readonly text: string | null;
  readonly textTruncated: boolean;
  readonly error: string | null;
  readonly errorClass: string | null;
  readonly errorCode: string | null;
  readonly hasReply: boolean;
  readonly receivedAt: number;
  readonly availableAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
}

/** The JSON form of an item; the text is cut unless `full`. */
export function itemJson(row: InboxRow, full: boolean): ItemJson {
  const text = row.text === null || full ? row.text : cut(row.text, PREVIEW_CHARS);
  return {
    id: row.id,
    updateId: row.updateId,
    chatId: row.chatId,
    messageId: row.messageId,
    kind: row.kind,
    status: row.status,
    attempts: row.attempts,
    text,
    textTruncated: text !== row.text,
    error: row.error,
    errorClass: row.errorClass,
    errorCode: row.errorCode,
    hasReply: row.reply !== null,
    receivedAt: row.receivedAt,
    availableAt: row.availableAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}

/** A status, coloured by what it asks of the operator. */
export function paintStatus(status: string, paint: Paint): string {
  switch (status) {
    case 'dead':
      return paint.red(status);
    case 'failed':
      return paint.yellow(status);
    case 'done':
      return paint.green(status);
    case 'skipped':
      return paint.dim(status);
    default:
      return status;
  }
}

const WAITING: readonly string[] = ['queued', 'failed'];

/** What the table shows for a message: its text, or its kind when there is none. */
function messageCell(row: InboxRow, full: boolean): string {
  if (row.text === null) return `(${row.kind})`;
  return full ? row.text : cut(row.text, PREVIEW_CHARS);
}

/** `queue ls` as a table. */
export function renderItems(rows: readonly InboxRow[], now: number, full: boolean, paint: Paint): string {
  if (rows.length === 0) return 'No items match.';
  return renderTable(
    ['ID', 'UPDATE', 'CHAT', 'STATUS', 'ATT', 'AGE', 'NEXT', 'ERROR', 'TEXT'],
    rows.map((row) => [
      row.id,
      row.updateId,
      row.chatId,
      paintStatus(row.status, paint),
      row.attempts,
      formatAge(row.receivedAt, now),
      WAITING.includes(row.status) ? formatDue(row.availableAt, now) : '-',
      full ? (row.error ?? '') : cut(row.error, ERROR_CHARS),
      messageCell(row, full),
    ]),
    paint,
  );
}

/** `queue dead` as a table; errors (the model server's whole words) and texts cut unless `full`. */
export function renderDead(rows: readonly InboxRow[], now: number, full: boolean, paint: Paint): string {
  if (rows.length === 0) return 'No dead items.';
  return renderTable(
    ['ID', 'CHAT', 'ATT', 'ERROR', 'CLASS', 'DIED', 'TEXT'],
    rows.map((row) => [
      row.id,
      row.chatId,
      row.attempts,
      full ? (row.error ?? '') : cut(row.error, ERROR_CHARS),
      [row.errorClass, row.errorCode].filter((p) => p !== null).join('/') || '-',
      formatAge(row.finishedAt ?? row.receivedAt, now),
      messageCell(row, full),
    ]),
    paint,
  );
}

/** What `queue retry` did, in a sentence per item. */
export function renderRequeued(requeued: readonly Requeued[]): string {
  if (requeued.length === 0) return 'Nothing to retry: no item matched.';
  const noun = requeued.length === 1 ? 'item' : 'items';
  const lines = requeued.map(
    (r) => `  ${r.id}  update ${r.updateId}  chat ${r.chatId ?? '-'}  (was ${r.previousStatus})`,
  );
  const killers = requeued.filter((r) => r.killedWorker).map((r) => r.id);
  const warning =
    killers.length === 0
      ? []
      : [
          `Warning: ${killers.join(', ')} killed the worker on every attempt before. If it does again, each crash`,
          "counts toward the supervisor's crash loop (SUPERVISOR_CRASH_LOOP_RESTARTS), which can halt the worker.",
        ];
  return [`Requeued ${requeued.length} ${noun}, ready now with attempts reset:`, ...lines, ...warning].join(
    '\n',
  );
}

/** `queue retry --json`. */
export function requeuedJson(requeued: readonly Requeued[]): {
  count: number;
  requeued: readonly Requeued[];
} {
  return { count: requeued.length, requeued };
}

/** `queue purge --json`. */
export interface PurgeJson extends PurgeResult {
  readonly dryRun: boolean;
  readonly status: string;
  readonly olderThanMs: number;
  readonly finishedBefore: number;
}

/** The JSON form of a purge. */
export function purgeJson(request: PurgeRequest, olderThanMs: number, result: PurgeResult): PurgeJson {
  return {
    dryRun: request.dryRun,
    status: request.status,
    olderThanMs,
    finishedBefore: request.finishedBefore,
    ...result,
  };
}

/** What `queue purge` did (or, on a dry run, would do), in a sentence. */
export function renderPurge(request: PurgeRequest, olderThan: string, result: PurgeResult): string {
  const what = `${request.status} ${result.matched === 1 ? 'item' : 'items'} finished before ${formatTime(
    request.finishedBefore,
  )} (older than ${olderThan})`;
  const range = result.firstId !== null ? `, ids ${result.firstId}..${result.lastId}` : '';
  if (result.matched === 0)
    return `No ${request.status} items finished before ${formatTime(request.finishedBefore)}.`;
  if (request.dryRun) {
    return `Dry run: would delete ${result.matched} ${what}${range}. Nothing was changed; run without --dry-run to delete.`;
  }
  return `Deleted ${result.deleted} ${what}${range}. Their conversation stays in history.`;
}
