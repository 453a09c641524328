// The worker's statements on `self_releases`: a chat's `/release` from asking to the card, the
// press that makes it a request for the supervisor, and telling the chat each outcome once. The
// supervisor writes `released`, `promoted`, `rolled_back` (src/supervisor-hooks).
import type Database from 'better-sqlite3';
import type { SelfReleaseStatus } from '../db/schema';
import { prepared } from './statements';

/** One release as the worker sees it. */
export interface SelfReleaseRow {
  readonly id: number;
  readonly chatId: number;
  readonly threadId: number | null;
  readonly fromId: number | null;
  readonly inboxId: number | null;
  readonly status: SelfReleaseStatus;
  readonly commit: string | null;
  readonly baseRevision: string | null;
  readonly baseCommit: string | null;
  readonly buildDir: string | null;
  readonly checks: string | null;
  readonly summary: string | null;
  readonly cardMessageId: number | null;
  readonly revision: string | null;
  readonly reason: string | null;
  readonly rolledBackTo: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly releasedToldAt: number | null;
  readonly outcomeToldAt: number | null;
}

const COLUMNS = `id, chat_id AS chatId, thread_id AS threadId, from_id AS fromId, inbox_id AS inboxId,
  status, "commit", base_revision AS baseRevision, base_commit AS baseCommit, build_dir AS buildDir,
  checks, summary, card_message_id AS cardMessageId, revision, reason, rolled_back_to AS rolledBackTo,
  created_at AS createdAt, updated_at AS updatedAt, released_told_at AS releasedToldAt,
  outcome_told_at AS outcomeToldAt`;

/** The release a message asked for (its retry after a kill finds it again), or undefined. */
export function selfReleaseOfItem(sqlite: Database.Database, inboxId: number): SelfReleaseRow | undefined {
  return prepared<[number], SelfReleaseRow>(
    sqlite,
    `SELECT ${COLUMNS} FROM self_releases WHERE inbox_id = ?`,
  ).get(inboxId);
}

/** One release, or undefined. */
export function selfRelease(sqlite: Database.Database, id: number): SelfReleaseRow | undefined {
  return prepared<[number], SelfReleaseRow>(sqlite, `SELECT ${COLUMNS} FROM self_releases WHERE id = ?`).get(
    id,
  );
}

/** Records a release being checked for message `inboxId`; returns its id (the existing one on a retry). */
export function beginSelfRelease(
  sqlite: Database.Database,
  release: {
    readonly inboxId: number;
    readonly chatId: number;
    readonly threadId: number | null;
    readonly fromId: number | null;
    readonly baseRevision: string | null;
    readonly baseCommit: string | null;
  },
  now: number,
): number {
  prepared(
    sqlite,
    `INSERT INTO self_releases (inbox_id, chat_id, thread_id, from_id, status, base_revision, base_commit,
       created_at, updated_at)
     VALUES (@inboxId, @chatId, @threadId, @fromId, 'checking', @baseRevision, @baseCommit, @now, @now)
     ON CONFLICT(inbox_id) DO NOTHING`,
  ).run({ ...release, now });
  return selfReleaseOfItem(sqlite, release.inboxId)!.id;
}

/** Sets fields of a release (those given) and its status. */
export function updateSelfRelease(
  sqlite: Database.Database,
  id: number,
  patch: {
    readonly status: SelfReleaseStatus;
    readonly commit?: string | null;
    readonly buildDir?: string | null;
    readonly checks?: string | null;
    readonly summary?: string | null;
    readonly reason?: string | null;
  },
  now: number,
): void {
  prepared(
    sqlite,
    `UPDATE self_releases SET status = @status,
       "commit" = CASE WHEN @hasCommit THEN @commit ELSE "commit" END,
       build_dir = CASE WHEN @hasBuild THEN @buildDir ELSE build_dir END,
       checks = CASE WHEN @hasChecks THEN @checks ELSE checks END,
       summary = CASE WHEN @hasSummary THEN @summary ELSE summary END,
       reason = CASE WHEN @hasReason THEN @reason ELSE reason END,
       updated_at = @now
     WHERE id = @id`,
  ).run({
    id,
    now,
    status: patch.status,
    hasCommit: patch.commit !== undefined ? 1 : 0,
    commit: patch.commit ?? null,
    hasBuild: patch.buildDir !== undefined ? 1 : 0,
    buildDir: patch.buildDir ?? null,
    hasChecks: patch.checks !== undefined ? 1 : 0,
    checks: patch.checks ?? null,
    hasSummary: patch.summary !== undefined ? 1 : 0,
    summary: patch.summary ?? null,
    hasReason: patch.reason !== undefined ? 1 : 0,
    reason: patch.reason ?? null,
  });
}

/** Records the card's message id. */
export function setSelfReleaseCard(sqlite: Database.Database, id: number, messageId: number): void {
  prepared(sqlite, 'UPDATE self_releases SET card_message_id = ? WHERE id = ?').run(messageId, id);
}

/**
 * Moves a release from `from` to `to` (a press on its card): true for the one press that did it,
 * false when it was no longer in `from` (decided already, or expired).
 */
export function moveSelfRelease(
  sqlite: Database.Database,
  id: number,
  from: SelfReleaseStatus,
  to: SelfReleaseStatus,
  now: number,
  reason: string | null = null,
): boolean {
  return (
    prepared(
      sqlite,
      `UPDATE self_releases SET status = ?, reason = coalesce(?, reason), updated_at = ? WHERE id = ? AND status = ?`,
    ).run(to, reason, now, id, from).changes > 0
  );
}

/** Releases whose cards wait longer than `before` allows: they are cancelled as not decided. */
export function staleReadySelfReleases(sqlite: Database.Database, before: number): SelfReleaseRow[] {
  return prepared<[number], SelfReleaseRow>(
    sqlite,
    `SELECT ${COLUMNS} FROM self_releases WHERE status = 'ready' AND updated_at < ? ORDER BY id`,
  ).all(before);
}

/** Releases with a step the chat has not been told yet: released, then promoted or rolled back. */
export function untoldSelfReleases(sqlite: Database.Database): SelfReleaseRow[] {
  return prepared<[], SelfReleaseRow>(
    sqlite,
    `SELECT ${COLUMNS} FROM self_releases
     WHERE (revision IS NOT NULL AND released_told_at IS NULL)
        OR (status IN ('promoted', 'rolled_back') AND outcome_told_at IS NULL)
        OR (status = 'failed' AND revision IS NULL AND card_message_id IS NOT NULL AND outcome_told_at IS NULL)
     ORDER BY id`,
  ).all();
}

/** Remembers that the chat was told a release's step. */
export function markSelfReleaseTold(
  sqlite: Database.Database,
  id: number,
  step: 'released' | 'outcome',
  now: number,
): void {
  prepared(
    sqlite,
    step === 'released'
      ? 'UPDATE self_releases SET released_told_at = ? WHERE id = ?'
      : 'UPDATE self_releases SET outcome_told_at = ? WHERE id = ?',
  ).run(now, id);
}

/** The outcomes of releases that reached the supervisor, newest first: what the circuit breaker counts. */
export function selfReleaseOutcomes(
  sqlite: Database.Database,
  limit = 10,
): { readonly id: number; readonly status: SelfReleaseStatus }[] {
  return prepared<[number], { id: number; status: SelfReleaseStatus }>(
    sqlite,
    `SELECT id, status FROM self_releases WHERE status IN ('promoted', 'rolled_back') ORDER BY id DESC LIMIT ?`,
  ).all(limit);
}

/** The newest release's id, or 0. */
export function newestSelfReleaseId(sqlite: Database.Database): number {
  return (
    prepared<[], { id: number | null }>(sqlite, 'SELECT max(id) AS id FROM self_releases').get()?.id ?? 0
  );
}

/** Whether a release is between Release and its outcome (one at a time). */
export function selfReleaseInFlight(sqlite: Database.Database): SelfReleaseRow | undefined {
  return prepared<[], SelfReleaseRow>(
    sqlite,
    `SELECT ${COLUMNS} FROM self_releases WHERE status IN ('requested', 'released') ORDER BY id DESC LIMIT 1`,
  ).get();
}

/** What the worker reads of the running revision: its id and the commit it was built from. */
export function runningRevision(
  sqlite: Database.Database,
  appName: string,
): { readonly id: string | null; readonly commit: string | null } {
  const row = prepared<[string], { id: string | null; commit: string | null }>(
    sqlite,
    `SELECT s.revision AS id, r."commit" AS "commit" FROM supervisor_state s
     LEFT JOIN supervisor_revisions r ON r.id = s.revision WHERE s.name = ?`,
  ).get(appName);
  return row ?? { id: null, commit: null };
}
