import type Database from 'better-sqlite3';
import type { UserStep } from '../../agent/journal';
import { prepared } from '../statements';

/** What a steered message's item says it was done by, until the run's answer is stored on it. */
function steeredNote(runId: number): string {
  return `given to run ${runId} while it worked; its answer answers this message too`;
}

/**
 * Takes the chat's text messages that wait behind run `runId` (queued, never begun, never tried)
 * into the run, in one transaction: each becomes a user step of the run, and its inbox item ends
 * `done`, answered by the run's answer. So a kill at any instant either leaves a message waiting
 * or has it in the run's journal, never both and never neither.
 */
export function steerMessages(sqlite: Database.Database, runId: number, now: number): UserStep[] {
  return sqlite
    .transaction((): UserStep[] => {
      const run = prepared(
        sqlite,
        `SELECT r.chat_id AS chatId, r.inbox_id AS inboxId, i.thread_id AS threadId
         FROM agent_runs r LEFT JOIN inbox i ON i.id = r.inbox_id WHERE r.id = ?`,
      ).get(runId) as { chatId: number; inboxId: number | null; threadId: number | null } | undefined;
      if (run === undefined || run.inboxId === null) return [];
      // only the messages of the run's own conversation: a forum topic's run takes no other topic's
      const waiting = prepared(
        sqlite,
        `SELECT id, text FROM inbox
         WHERE chat_id = ? AND thread_id IS ? AND lane = 'answer' AND status = 'queued' AND kind = 'text'
           AND attempts = 0 AND id > ? AND text IS NOT NULL AND trim(text) != ''
           AND NOT EXISTS (SELECT 1 FROM agent_runs r WHERE r.inbox_id = inbox.id)
         ORDER BY id`,
      ).all(run.chatId, run.threadId, run.inboxId) as { id: number; text: string }[];
      if (waiting.length === 0) return [];
      let { next } = prepared(
        sqlite,
        'SELECT coalesce(max(seq), 0) + 1 AS next FROM agent_steps WHERE run_id = ?',
      ).get(runId) as { next: number };
      const insert = prepared(
        sqlite,
        `INSERT INTO agent_steps (run_id, seq, kind, inbox_id, content, created_at)
         VALUES (?, ?, 'user', ?, ?, ?) RETURNING id`,
      );
      const done = prepared(
        sqlite,
        `UPDATE inbox SET status = 'done', attempts = attempts + 1, started_at = ?, finished_at = ?, reply = ?,
           error = NULL, error_class = NULL, error_code = NULL WHERE id = ?`,
      );
      const steps: UserStep[] = [];
      for (const message of waiting) {
        const content = message.text;
        const seq = next++;
        const { id } = insert.get(runId, seq, message.id, content, now) as { id: number };
        done.run(now, now, steeredNote(runId), message.id);
        steps.push({ kind: 'user', id, seq, content, inboxId: message.id });
      }
      return steps;
    })
    .immediate();
}

/** Stores a run's answer on the items steered into it (they were answered by it). */
export function answerSteered(sqlite: Database.Database, runId: number, reply: string): void {
  prepared(
    sqlite,
    `UPDATE inbox SET reply = ? WHERE id IN (SELECT inbox_id FROM agent_steps WHERE run_id = ? AND kind = 'user')`,
  ).run(reply, runId);
}
