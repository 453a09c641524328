import type Database from 'better-sqlite3';
import type { JournalRun, RunOpening, RunRequest } from '../../agent/journal';
import type { Usage } from '../../agent/ports';
import { imagesColumn, imagesOf, RUN_COLUMNS, toJournalStep, type RunRow } from './rows';
import { runSteps } from './run-steps';
import { loadSession, sessionFor } from './session';
import { prepared } from '../statements';

const FINISHED: readonly string[] = ['done', 'cancelled', 'failed', 'limit'];

/**
 * Opens the run of an inbox item, in one transaction: creates it; or continues one that was left
 * on purpose (parked, or suspended after an error or a stop), adding the time it spent parked; or
 * resumes one found running, which only a dead worker leaves: that counts a resume, and a stalled
 * one when a tool was running and no step was settled since the last resume. A finished run is
 * returned as it is.
 */
export function beginRun(sqlite: Database.Database, request: RunRequest, now: number): JournalRun {
  return sqlite
    .transaction((): JournalRun => {
      const found = prepared(sqlite, `SELECT ${RUN_COLUMNS} FROM agent_runs WHERE inbox_id = ?`).get(
        request.inboxId,
      ) as RunRow | undefined;
      let run: RunRow;
      let opening: RunOpening;
      if (found === undefined) {
        run = prepared(
          sqlite,
          `INSERT INTO agent_runs (chat_id, inbox_id, project, session_id, message, images, status, started_at)
           VALUES (?, ?, ?, ?, ?, ?, 'running', ?)
           RETURNING ${RUN_COLUMNS}`,
        ).get(
          request.chatId,
          request.inboxId,
          request.project,
          request.sessionFrom === undefined
            ? null
            : sessionFor(
                sqlite,
                request.chatId,
                request.sessionThread ?? 0,
                request.project,
                request.sessionFrom,
                now,
              ),
          request.message,
          imagesColumn(request.images),
          now,
        ) as RunRow;
        opening = 'new';
      } else if (FINISHED.includes(found.status)) {
        run = found;
        opening = 'finished';
      } else if (found.status === 'parked' || found.suspendedAt !== null) {
        run = prepared(
          sqlite,
          `UPDATE agent_runs SET status = 'running', suspended_at = NULL,
             parked_ms = parked_ms + CASE WHEN parked_at IS NULL THEN 0 ELSE max(0, @now - parked_at) END,
             parked_at = NULL
           WHERE id = @id RETURNING ${RUN_COLUMNS}`,
        ).get({ id: found.id, now }) as RunRow;
        opening = 'continued';
      } else {
        const { settled, running } = prepared(
          sqlite,
          `SELECT count(*) FILTER (WHERE kind = 'model' OR status NOT IN ('pending', 'running')) AS settled,
             count(*) FILTER (WHERE kind = 'tool' AND status = 'running') AS running
           FROM agent_steps WHERE run_id = ?`,
        ).get(found.id) as { settled: number; running: number };
        // Only a kill while a tool ran can be the run's own doing (a command that brings the
        // worker down). A kill during a model call is the message's attempt, bounded by
        // WORKER_MAX_ATTEMPTS as for any answer, and random kills must not end a sound run.
        const stalled =
          settled !== found.progressMark ? 0 : running > 0 ? found.stalledResumes + 1 : found.stalledResumes;
        run = prepared(
          sqlite,
          `UPDATE agent_runs SET resumes = resumes + 1, stalled_resumes = @stalled, progress_mark = @settled
           WHERE id = @id RETURNING ${RUN_COLUMNS}`,
        ).get({ id: found.id, stalled, settled }) as RunRow;
        opening = 'resumed';
      }
      return {
        id: run.id,
        status: run.status,
        opening,
        startedAt: run.startedAt,
        parkedMs: run.parkedMs,
        resumes: run.resumes,
        stalledResumes: run.stalledResumes,
        answer: run.answer,
        // a run from before sessions kept no message: the one it is given stands in
        message: run.message ?? request.message,
        images: run.message === null ? (request.images ?? []) : imagesOf(run.images),
        steps: runSteps(sqlite, run.id).map(toJournalStep),
        compactionUsage: compactionUsage(sqlite, run.id),
        session: run.sessionId === null ? null : loadSession(sqlite, run.sessionId, run.id),
      };
    })
    .immediate();
}

/** What the run's compactions cost so far (their calls count in the run's budget). */
function compactionUsage(sqlite: Database.Database, runId: number): Usage {
  return prepared(
    sqlite,
    `SELECT coalesce(sum(prompt_tokens), 0) AS promptTokens, coalesce(sum(completion_tokens), 0) AS completionTokens,
       coalesce(sum(cached_tokens), 0) AS cachedTokens FROM compactions WHERE run_id = ?`,
  ).get(runId) as Usage;
}
