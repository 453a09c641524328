import type Database from 'better-sqlite3';
import type {
  CompactionInput,
  CompactionKind,
  CompactionRecord,
  JournalSession,
  RunStatus,
  SessionRun,
} from '../../agent/journal';
import { prepared } from '../statements';
import { imagesOf, STEP_COLUMNS, toJournalStep, type StepRow } from './rows';

// A session's runs and compactions: the transcript is read from the journal of its runs (their
// messages and steps), never copied, and the newest compaction says where it starts.

/**
 * The session of a chat's (or forum topic's: `threadId`, 0 for none) project that starts after
 * inbox item `fromInboxId` (its `/new`, 0 for none), made now if it is new.
 */
export function sessionFor(
  sqlite: Database.Database,
  chatId: number,
  threadId: number,
  project: string,
  fromInboxId: number,
  now: number,
): number {
  prepared(
    sqlite,
    `INSERT INTO sessions (chat_id, thread_id, project, from_inbox_id, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (chat_id, thread_id, project, from_inbox_id) DO NOTHING`,
  ).run(chatId, threadId, project, fromInboxId, now);
  return prepared(
    sqlite,
    'SELECT id FROM sessions WHERE chat_id = ? AND thread_id = ? AND project = ? AND from_inbox_id = ?',
  )
    .pluck()
    .get(chatId, threadId, project, fromInboxId) as number;
}

interface CompactionRow {
  readonly id: number;
  readonly kind: CompactionKind;
  readonly throughRunId: number;
  readonly throughSeq: number;
  readonly summary: string | null;
  readonly tokensBefore: number;
  readonly tokensAfter: number;
  readonly createdAt: number;
}

const COMPACTION_COLUMNS = `id, kind, through_run_id AS throughRunId, through_seq AS throughSeq, summary,
  tokens_before AS tokensBefore, tokens_after AS tokensAfter, created_at AS createdAt`;

function toCompaction(row: CompactionRow): CompactionRecord {
  return {
    id: row.id,
    kind: row.kind,
    through: { runId: row.throughRunId, seq: row.throughSeq },
    summary: row.summary,
    tokensBefore: row.tokensBefore,
    tokensAfter: row.tokensAfter,
    createdAt: row.createdAt,
  };
}

/** The session's newest compaction, if any. */
function latestCompaction(sqlite: Database.Database, sessionId: number): CompactionRecord | null {
  const row = prepared(
    sqlite,
    `SELECT ${COMPACTION_COLUMNS} FROM compactions WHERE session_id = ? ORDER BY id DESC LIMIT 1`,
  ).get(sessionId) as CompactionRow | undefined;
  return row === undefined ? null : toCompaction(row);
}

/**
 * The session as a run sees it when it starts: its newest compaction, and its runs before
 * `beforeRunId` that the compaction does not wholly cover, with their steps, oldest first.
 */
export function loadSession(
  sqlite: Database.Database,
  sessionId: number,
  beforeRunId: number,
): JournalSession {
  const compaction = latestCompaction(sqlite, sessionId);
  const fromRun = compaction?.through.runId ?? 0;
  const runs = prepared(
    sqlite,
    `SELECT id, message, images, status, answer FROM agent_runs
     WHERE session_id = ? AND id < ? AND id >= ? ORDER BY id`,
  ).all(sessionId, beforeRunId, fromRun) as {
    id: number;
    message: string | null;
    images: string | null;
    status: RunStatus;
    answer: string | null;
  }[];
  const steps = prepared(
    sqlite,
    `SELECT ${STEP_COLUMNS} FROM agent_steps WHERE run_id IN (
       SELECT id FROM agent_runs WHERE session_id = ? AND id < ? AND id >= ?)
     ORDER BY run_id, seq`,
  ).all(sessionId, beforeRunId, fromRun) as StepRow[];
  const byRun = new Map<number, ReturnType<typeof toJournalStep>[]>();
  for (const row of steps) {
    const list = byRun.get(row.runId) ?? [];
    list.push(toJournalStep(row));
    byRun.set(row.runId, list);
  }
  const earlier: SessionRun[] = runs.map((run) => {
    const images = imagesOf(run.images);
    return {
      id: run.id,
      message: run.message,
      ...(images.length > 0 ? { images } : {}),
      status: run.status,
      answer: run.answer,
      steps: byRun.get(run.id) ?? [],
    };
  });
  return { id: sessionId, compaction, earlier };
}

/** Stores a compaction, adding its call's usage to its run's; returns it as the journal reads it. */
export function recordCompaction(
  sqlite: Database.Database,
  input: CompactionInput,
  now: number,
): CompactionRecord {
  return sqlite
    .transaction((): CompactionRecord => {
      const usage = input.usage ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
      const row = prepared(
        sqlite,
        `INSERT INTO compactions (session_id, run_id, kind, through_run_id, through_seq, summary, instructions,
           tokens_before, tokens_after, model, prompt_tokens, completion_tokens, cached_tokens, created_at)
         VALUES (@sessionId, @runId, @kind, @throughRunId, @throughSeq, @summary, @instructions, @tokensBefore,
           @tokensAfter, @model, @promptTokens, @completionTokens, @cachedTokens, @now)
         RETURNING ${COMPACTION_COLUMNS}`,
      ).get({
        sessionId: input.sessionId,
        runId: input.runId,
        kind: input.kind,
        throughRunId: input.through.runId,
        throughSeq: input.through.seq,
        summary: input.summary,
        instructions: input.instructions ?? null,
        tokensBefore: input.tokensBefore,
        tokensAfter: input.tokensAfter,
        model: input.model ?? null,
        ...usage,
        now,
      }) as CompactionRow;
      if (input.runId !== null) {
        prepared(
          sqlite,
          `UPDATE agent_runs SET prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?,
             cached_tokens = cached_tokens + ? WHERE id = ?`,
        ).run(usage.promptTokens, usage.completionTokens, usage.cachedTokens, input.runId);
      }
      return toCompaction(row);
    })
    .immediate();
}
