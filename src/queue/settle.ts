import type Database from 'better-sqlite3';
import type { FailureFate } from './policy';
import { INBOX_COLUMNS, type InboxRow } from './row';

/** An error as the inbox keeps it: class, code and a secret-free sentence. */
export interface StoredError {
  readonly errorClass: string;
  readonly code: string | null;
  readonly message: string;
}

/** Keeps the model's answer before anything is sent, so a crash never asks the model twice. */
export function storeReply(sqlite: Database.Database, id: number, reply: string): void {
  sqlite.prepare('UPDATE inbox SET reply = ?, reply_parts_sent = 0 WHERE id = ?').run(reply, id);
}

/** Records that Telegram accepted the first `parts` parts of the reply. */
export function markPartsSent(sqlite: Database.Database, id: number, parts: number): void {
  sqlite.prepare('UPDATE inbox SET reply_parts_sent = ? WHERE id = ?').run(parts, id);
}

/** Writes both turns to history and marks the item done, in one transaction. */
export function completeItem(sqlite: Database.Database, item: InboxRow, reply: string, now: number): void {
  const addTurn = sqlite.prepare(
    'INSERT INTO history (chat_id, role, text, inbox_id, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  sqlite
    .transaction(() => {
      if (item.chatId !== null && item.text !== null) {
        addTurn.run(item.chatId, 'user', item.text, item.id, item.sentAt ?? item.receivedAt);
        addTurn.run(item.chatId, 'assistant', reply, item.id, now);
      }
      sqlite
        .prepare(
          `UPDATE inbox SET status = 'done', finished_at = ?, error = NULL, error_class = NULL, error_code = NULL WHERE id = ?`,
        )
        .run(now, item.id);
    })
    .immediate();
}

/** Ends an item that is not processed by design, with the reason. */
export function skipItem(sqlite: Database.Database, id: number, reason: string, now: number): void {
  sqlite
    .prepare(
      `UPDATE inbox SET status = 'skipped', error = ?, error_class = 'skipped', finished_at = ? WHERE id = ?`,
    )
    .run(reason, now, id);
}

/** Records a failed attempt: retried at `availableAt`, or dead. */
export function failItem(
  sqlite: Database.Database,
  id: number,
  fate: FailureFate,
  error: StoredError,
  now: number,
): void {
  sqlite
    .prepare(
      `UPDATE inbox SET status = @status, available_at = coalesce(@availableAt, available_at), error = @message,
         error_class = @errorClass, error_code = @code, finished_at = @finishedAt WHERE id = @id`,
    )
    .run({
      id,
      status: fate.status,
      availableAt: fate.status === 'failed' ? fate.availableAt : null,
      finishedAt: fate.status === 'dead' ? now : null,
      message: error.message,
      errorClass: error.errorClass,
      code: error.code,
    });
}

/**
 * Puts an item back without counting the attempt: the worker is stopping or processing is
 * paused, which is not the message's fault.
 */
export function releaseItem(sqlite: Database.Database, id: number, availableAt: number): void {
  sqlite
    .prepare(
      `UPDATE inbox SET status = 'queued', attempts = max(0, attempts - 1), available_at = ? WHERE id = ? AND status = 'processing'`,
    )
    .run(availableAt, id);
}

/**
 * Items left `processing` by a worker that died go back to the queue with the attempt counted
 * (invariant 4); those out of attempts are dead. Returns the items that died here.
 */
export function recoverInterrupted(sqlite: Database.Database, maxAttempts: number, now: number): InboxRow[] {
  return sqlite
    .transaction(() => {
      const died = sqlite
        .prepare(
          `UPDATE inbox SET status = 'dead', finished_at = @now, error_class = 'crash', error_code = 'worker_exit',
             error = 'The worker stopped while processing this message on every attempt (' || attempts || ' of ' || @max || ').'
           WHERE status = 'processing' AND attempts >= @max RETURNING ${INBOX_COLUMNS}`,
        )
        .all({ now, max: maxAttempts }) as InboxRow[];
      sqlite
        .prepare(
          `UPDATE inbox SET status = 'failed', available_at = @now, error_class = 'crash', error_code = 'worker_exit',
             error = 'The worker stopped while processing this message; it is retried.'
           WHERE status = 'processing'`,
        )
        .run({ now });
      return died;
    })
    .immediate();
}
