import type Database from 'better-sqlite3';
import { describeError, type Logger } from '../shared/log';
import { KV, parseRollbackDetail } from '../shared/contracts';
import { getKv, setKv } from '../queue/kv';
import { rollbackEventsAfter, type RollbackEvent } from '../queue/rollback-events';
import { sendNotice } from './replier';
import type { TelegramClient } from './telegram/client';

/** The one line an admin gets about a rollback. */
export function rollbackLine(event: RollbackEvent): string {
  // an unreadable detail still gets announced, with what is known
  const detail = parseRollbackDetail(event.detail);
  const from = detail.from ?? 'the new revision';
  const to = detail.to ?? event.revision ?? 'the last good revision';
  return `autonous: revision ${from} failed${detail.reason ? ` (${detail.reason})` : ''}; rolled back, now running ${to}.`;
}

/**
 * The worker is the only part that talks to Telegram, so it announces the supervisor's rollbacks:
 * on start, one line per rollback event not yet announced, to each `TG_ADMIN_CHAT_IDS` chat.
 * An event is remembered in `kv` once an admin chat accepted it (or none is set), so a restart
 * repeats only what nobody received. `signal` stops it between sends (the worker is stopping).
 */
export async function announceRollbacks(
  sqlite: Database.Database,
  telegram: TelegramClient,
  adminChatIds: readonly number[],
  log: Logger,
  now: number,
  signal?: AbortSignal,
): Promise<number> {
  const after = Number(getKv(sqlite, KV.rollbackAnnounced) ?? 0);
  const events = rollbackEventsAfter(sqlite, after);
  let announced = 0;
  for (const event of events) {
    if (signal?.aborted) break;
    let delivered = adminChatIds.length === 0;
    for (const chatId of adminChatIds) {
      if (signal?.aborted) break;
      try {
        await sendNotice(telegram, log, chatId, null, rollbackLine(event), signal);
        delivered = true;
      } catch (err) {
        log.warn('could not tell an admin chat about a rollback', { chatId, error: describeError(err) });
      }
    }
    // Not one admin chat took it (Telegram down?): keep it for the next start
    if (!delivered) break;
    setKv(sqlite, KV.rollbackAnnounced, String(event.id), now);
    announced++;
  }
  return announced;
}

/** An announcement under way: `done` never rejects; `abort` stops it between sends. */
export interface RollbackAnnouncement {
  readonly done: Promise<void>;
  abort(): void;
}

/**
 * Announces rollbacks in the background with its own abort: a stop lets a notice under way finish
 * (within the grace) before the database closes, so a delivered notice is remembered and not sent
 * again by the next start.
 */
export function startRollbackAnnouncement(
  sqlite: Database.Database,
  telegram: TelegramClient,
  adminChatIds: readonly number[],
  log: Logger,
  now: number,
): RollbackAnnouncement {
  const controller = new AbortController();
  const done = announceRollbacks(sqlite, telegram, adminChatIds, log, now, controller.signal).then(
    () => undefined,
    (err: unknown) => log.warn('could not announce rollbacks', { error: describeError(err) }),
  );
  return { done, abort: () => controller.abort() };
}
