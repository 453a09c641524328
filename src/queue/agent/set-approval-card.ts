import type Database from 'better-sqlite3';
import { prepared } from '../statements';

/** Records the Telegram message id of an approval's card, once it is sent. */
export function setApprovalCard(sqlite: Database.Database, approvalId: number, messageId: number): void {
  prepared(sqlite, 'UPDATE agent_approvals SET card_message_id = ? WHERE id = ?').run(messageId, approvalId);
}
