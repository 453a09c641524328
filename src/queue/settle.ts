import type Database from 'better-sqlite3';
import type { FailureFate, RetryPolicy } from './policy';
import { INBOX_COLUMNS, type InboxRow } from './row';
import { prepared } from './statements';
import { estimateTokens } from '../shared/tokens';
import { recordUsage, type UsageRecord } from './usage';

/** An error as the inbox keeps it: class, code and a secret-free sentence. */
export interface StoredError {
  readonly errorClass: string;
  readonly code: string | null;
  readonly message: string;
}

/** Keeps the model's answer before anything is sent, so a crash never asks the model twice. */
export function storeReply(sqlite: Database.Database, id: number, reply: string): void {
  prepared(sqlite, 'UPDATE inbox SET reply = ?, reply_parts_sent = 0 WHERE id = ?').run(reply, id);
}

/**
 * Keeps the model's answer and what it cost in one transaction, before anything is sent: a crash
 * never asks the model twice, and every answer's usage is on record.
 */
export function storeAnswer(
  sqlite: Database.Database,
  item: InboxRow,
  reply: string,
  usage: AnswerUsage | null,
  now: number,
): void {
  sqlite
    .transaction(() => {
      storeReply(sqlite, item.id, reply);
      if (usage && item.chatId !== null)
        recordUsage(sqlite, { ...usage, chatId: item.chatId, inboxId: item.id }, now);
    })
    .immediate();
}

/** What one answer's model calls cost. */
export type AnswerUsage = Omit<UsageRecord, 'chatId' | 'inboxId'>;

/** Records that Telegram accepted the first `parts` parts of the reply. */
export function markPartsSent(sqlite: Database.Database, id: number, parts: number): void {
  prepared(sqlite, 'UPDATE inbox SET reply_parts_sent = ? WHERE id = ?').run(parts, id);
}

/**
 * Marks the item done and, when it was answered, writes both turns to history, in one
 * transaction. `reply` undefined: done without an answer of the model (a command, a notice).
 */
export function completeItem(
  sqlite: Database.Database,
  item: InboxRow,
  reply: string | undefined,
  now: number,
): void {
  const addTurn = prepared(
    sqlite,
    'INSERT INTO history (chat_id, role, text, tokens, inbox_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const markDone = prepared(
    sqlite,
    `UPDATE inbox SET status = 'done', finished_at = ?, error = NULL, error_class = NULL, error_code = NULL WHERE id = ?`,
  );
  sqlite
    .transaction(() => {
      if (reply !== undefined && item.chatId !== null && item.text !== null) {
        const userTokens = estimateTokens(item.text);
        addTurn.run(item.chatId, 'user', item.text, userTokens, item.id, item.sentAt ?? item.receivedAt);
        addTurn.run(item.chatId, 'assistant', reply, estimateTokens(reply), item.id, now);
      }
      markDone.run(now, item.id);
    })
    .immediate();
}

/** Ends an item that is not processed by design, with the reason. */
export function skipItem(sqlite: Database.Database, id: number, reason: string, now: number): void {
  prepared(
    sqlite,
    `UPDATE inbox SET status = 'skipped', error = ?, error_class = 'skipped', finished_at = ? WHERE id = ?`,
  ).run(reason, now, id);
}

/** Records a failed attempt: retried at `availableAt`, or dead. */
export function failItem(
  sqlite: Database.Database,
  id: number,
  fate: FailureFate,
  error: StoredError,
  now: number,
): void {
  prepared(
    sqlite,
    `UPDATE inbox SET status = @status, available_at = coalesce(@availableAt, available_at), error = @message,
       error_class = @errorClass, error_code = @code, finished_at = @finishedAt WHERE id = @id`,
  ).run({
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
  prepared(
    sqlite,
    `UPDATE inbox SET status = 'queued', attempts = max(0, attempts - 1), available_at = ? WHERE id = ? AND status = 'processing'`,
  ).run(availableAt, id);
}

/**
 * Items left `processing` by a worker that died go back to the queue with the attempt counted
 * (a message that kills the worker every time must end); those out of attempts are dead. They are ready at once (PM2's restart backoff
 * already paces a crash loop), so recovery from a plain kill waits for nothing. Their error
 * class `crash` makes the claim take them after every other ready item, the messages that
 * arrived while the worker was down included (they are stored only after this runs, so no
 * `available_at` set here could place the item behind them). Returns the items that died here.
 */
export function recoverInterrupted(sqlite: Database.Database, policy: RetryPolicy, now: number): InboxRow[] {
  return sqlite
    .transaction(() => {
      const interrupted = sqlite
        .prepare(`SELECT ${INBOX_COLUMNS} FROM inbox WHERE status = 'processing'`)
        .all() as InboxRow[];
      const died: InboxRow[] = [];
      for (const item of interrupted) {
        const fate: FailureFate =
          item.attempts >= policy.maxAttempts ? { status: 'dead' } : { status: 'failed', availableAt: now };
        const message =
          fate.status === 'dead'
            ? `The worker stopped while processing this message on every attempt (${item.attempts} of ${policy.maxAttempts}).`
            : 'The worker stopped while processing this message; it is retried.';
        failItem(sqlite, item.id, fate, { errorClass: 'crash', code: 'worker_exit', message }, now);
        if (fate.status === 'dead') died.push({ ...item, status: 'dead' });
      }
      return died;
    })
    .immediate();
}
