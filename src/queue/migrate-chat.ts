import type Database from 'better-sqlite3';
import { KV } from './kv';
import { prepared } from './statements';

// A group that became a supergroup: Telegram moves it to a new chat id (`migrate_to_chat_id`). The
// new id is allowed as the old one was, and what the group had moves with it: its sessions and
// runs, its usage, its history, its chosen project, model and conversation starts (of the chat and
// of each topic).

/** What the operator is told of a migration (the worker's log, the admin chats, `autonous status`). */
export function migrationAdvice(from: number, to: number): string {
  return `The allowed group ${from} became the supergroup ${to} (Telegram gave it a new chat id); the bot answers ${to} as it answered ${from}. Replace ${from} by ${to} in TG_ALLOWED_CHAT_IDS.`;
}

/** The chats that took an allowed group's place: new id → the old id it was allowed as. */
export function migratedChats(sqlite: Database.Database): Map<number, number> {
  const prefix = KV.migratedChatPrefix;
  const rows = prepared(sqlite, 'SELECT key, value FROM kv WHERE substr(key, 1, ?) = ?').all(
    prefix.length,
    prefix,
  ) as { key: string; value: string }[];
  const chats = new Map<number, number>();
  for (const row of rows) {
    const to = Number(row.key.slice(KV.migratedChatPrefix.length));
    const from = Number(row.value);
    if (Number.isSafeInteger(to) && Number.isSafeInteger(from)) chats.set(to, from);
  }
  return chats;
}

/** Forgets that `to` took an allowed group's place (the operator allowed it by its own id). */
export function forgetMigratedChat(sqlite: Database.Database, to: number): void {
  prepared(sqlite, 'DELETE FROM kv WHERE key = ?').run(KV.migratedChat(to));
}

// The kv keys of a chat's own choices, by the prefix before its id
const CHAT_KEYS = ['chat_project:', 'chat_model:', 'conversation_start:'] as const;

/**
 * Moves chat `from` to `to` in one transaction and records `to` as allowed in its place. Returns
 * false when `to` was recorded already (the update came twice): nothing is moved again.
 */
export function migrateChat(sqlite: Database.Database, from: number, to: number, now: number): boolean {
  return sqlite
    .transaction((): boolean => {
      const recorded = prepared(sqlite, 'SELECT 1 FROM kv WHERE key = ?').get(KV.migratedChat(to));
      if (recorded !== undefined) return false;
      prepared(sqlite, 'INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)').run(
        KV.migratedChat(to),
        String(from),
        now,
      );
      for (const table of ['sessions', 'agent_runs', 'usage', 'history']) {
        prepared(sqlite, `UPDATE ${table} SET chat_id = ? WHERE chat_id = ?`).run(to, from);
      }
      for (const prefix of CHAT_KEYS) {
        // `chat_project:-100` must not take `chat_project:-1001...`: the id ends the key or a `:` follows
        const own = `${prefix}${from}`;
        const keys = prepared(sqlite, 'SELECT key FROM kv WHERE key = ? OR substr(key, 1, ?) = ?')
          .pluck()
          .all(own, own.length + 1, `${own}:`) as string[];
        for (const key of keys) {
          const moved = `${prefix}${to}${key.slice(own.length)}`;
          prepared(
            sqlite,
            `INSERT INTO kv (key, value, updated_at) SELECT ?, value, ? FROM kv WHERE key = ?
             ON CONFLICT (key) DO NOTHING`,
          ).run(moved, now, key);
        }
      }
      return true;
    })
    .immediate();
}
