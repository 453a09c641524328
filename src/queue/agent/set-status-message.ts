import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** Records the Telegram message id of a run's status message, once it is sent: a resumed run edits it. */
export function setRunStatusMessage(sqlite: Database.Database, runId: number, messageId: number): void {
  prepared(sqlite, 'UPDATE agent_runs SET status_message_id = ? WHERE id = ?').run(messageId, runId);
}
