import type Database from 'better-sqlite3';
import { prepared } from './statements';

/** Reads a `kv` value, or undefined. */
export function getKv(sqlite: Database.Database, key: string): string | undefined {
  const row = prepared(sqlite, 'SELECT value FROM kv WHERE key = ?').get(key) as
    { value: string } | undefined;
  return row?.value;
}

/** Writes a `kv` value. */
export function setKv(sqlite: Database.Database, key: string, value: string, now: number): void {
  prepared(
    sqlite,
    'INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
  ).run(key, value, now);
}

/** Removes a `kv` value. */
export function deleteKv(sqlite: Database.Database, key: string): void {
  prepared(sqlite, 'DELETE FROM kv WHERE key = ?').run(key);
}

export const KV = {
  telegramOffset: 'telegram_offset',
  /** Present while a cold start is draining the pending updates. */
  coldStart: 'cold_start',
  /** The model a chat chose with `/model`. */
  chatModel: (chatId: number) => `chat_model:${chatId}`,
  /** How polling Telegram goes (`EdgeHealth` as JSON), for `autonous status`. */
  ingressHealth: 'ingress_health',
  /** How calling the model goes (`EdgeHealth` as JSON). */
  modelHealth: 'model_health',
  /** The inbox id of a chat's last `/new`: the model sees no turn from before it. */
  conversationStart: (chatId: number) => `conversation_start:${chatId}`,
  /** The project a chat chose with `/project` (absent: the default project). */
  chatProject: (chatId: number) => `chat_project:${chatId}`,
  /**
   * The git checkpoint (JSON) of an inbox item's agent run, taken before its first change and
   * kept until the run's commit, so a resumed run commits against the state before it began.
   */
  runCheckpoint: (inboxId: number) => `run_checkpoint:${inboxId}`,
  /** The message id of an agent run's status message, so a resumed run edits the same one. */
  runStatusMessage: (runId: number) => `run_status_message:${runId}`,
} as const;
