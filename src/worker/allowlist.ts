// The chats the bot answers: TG_ALLOWED_CHAT_IDS, and the supergroups allowed groups became.
// Telegram moves a group that becomes a supergroup to a new chat id (`migrate_to_chat_id`); the
// new id is answered as the old one was, from the migration on (and after restarts), until the
// operator lists it in TG_ALLOWED_CHAT_IDS, which the worker is told at every start until then.

import type Database from 'better-sqlite3';
import { forgetMigratedChat, migratedChats, migrationAdvice } from '../queue/migrate-chat';
import type { Logger } from '../shared/log';

/** A migration the operator has not yet written into TG_ALLOWED_CHAT_IDS. */
export interface PendingMigration {
  readonly from: number;
  readonly to: number;
}

/** Who may use the bot. */
export class Allowlist {
  // supergroup id → the allowed group id it took the place of
  private readonly migrated = new Map<number, number>();

  constructor(private readonly configured: readonly number[]) {}

  /** Whether `chatId` is answered. */
  has(chatId: number): boolean {
    return this.configured.includes(chatId) || this.migrated.has(chatId);
  }

  /** Answers `to` as `from` was answered, when `from` is allowed; returns whether it is. */
  migrate(from: number, to: number): boolean {
    if (!this.has(from)) return false;
    if (!this.configured.includes(to)) this.migrated.set(to, from);
    return true;
  }

  /** The migrations TG_ALLOWED_CHAT_IDS does not list yet. */
  pending(): PendingMigration[] {
    return [...this.migrated].map(([to, from]) => ({ from, to }));
  }

  /**
   * Loads the migrations recorded in the database: one the operator has since listed is
   * forgotten, one of a group no longer allowed is not taken, and each other is logged.
   */
  load(sqlite: Database.Database, log: Logger): void {
    for (const [to, from] of migratedChats(sqlite)) {
      if (this.configured.includes(to)) forgetMigratedChat(sqlite, to);
      else if (this.configured.includes(from)) {
        this.migrated.set(to, from);
        log.warn(migrationAdvice(from, to));
      }
    }
  }
}
