import type Database from 'better-sqlite3';
import { migrateChat, migrationAdvice } from '../../queue/migrate-chat';
import type { Logger } from '../../shared/log';
import type { Allowlist } from '../allowlist';
import { sendNotice, type SendTelegram } from '../replier';
import type { Handler, Outcome } from './handler';

/** What following a group to its supergroup needs. */
export interface MigrationDeps {
  readonly sqlite: Database.Database;
  readonly allowlist: Allowlist;
  readonly telegram: SendTelegram;
  /** TG_ADMIN_CHAT_IDS: told of the new id. */
  readonly adminChatIds: readonly number[];
  readonly log: Logger;
  readonly now: () => number;
}

/**
 * An allowed group became a supergroup (the service message `migrate_to_chat_id`, its new id the
 * item's text): the supergroup is answered as the group was, with its sessions, runs, usage and
 * choices, and the operator is told in the log and the admin chats. Nothing is said in the group.
 */
export function migrationHandler(deps: MigrationDeps): Handler {
  return {
    async handle(item, signal): Promise<Outcome> {
      const from = item.chatId!;
      const to = Number(item.text);
      if (!Number.isSafeInteger(to) || to === from)
        return { kind: 'skipped', reason: 'a migration without a new chat id' };
      const moved = migrateChat(deps.sqlite, from, to, deps.now());
      deps.allowlist.migrate(from, to);
      if (!moved) return { kind: 'skipped', reason: `already moved to ${to}` };
      const advice = migrationAdvice(from, to);
      deps.log.warn(advice);
      for (const admin of deps.adminChatIds) {
        await sendNotice(deps.telegram, deps.log, admin, null, advice, signal).catch((err: unknown) =>
          deps.log.warn('could not tell an admin chat of a migration', { chatId: admin, error: String(err) }),
        );
      }
      return { kind: 'done' };
    },
  };
}
