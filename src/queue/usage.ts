import type Database from 'better-sqlite3';
import { prepared } from './statements';

/** One model call's tokens, as the API reported them. */
export interface UsageRecord {
  readonly chatId: number;
  readonly inboxId: number | null;
  readonly model: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens: number;
}

/** Records a model call's usage. */
export function recordUsage(sqlite: Database.Database, record: UsageRecord, now: number): void {
  prepared(
    sqlite,
    `INSERT INTO usage (chat_id, inbox_id, model, prompt_tokens, completion_tokens, cached_tokens, created_at)
     VALUES (@chatId, @inboxId, @model, @promptTokens, @completionTokens, @cachedTokens, @now)`,
  ).run({ ...record, now });
}

/** Usage summed per chat and model. */
export interface UsageTotal {
  readonly chatId: number;
  readonly model: string;
  /** Answers (inbox items) the calls were made for. */
  readonly answers: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens: number;
}

/** Usage since `since` (ms), per chat and model; one chat only when `chatId` is given. */
export function usageSince(sqlite: Database.Database, since: number, chatId?: number): UsageTotal[] {
  return prepared(
    sqlite,
    `SELECT chat_id AS chatId, model, count(DISTINCT coalesce(inbox_id, -id)) AS answers,
       sum(prompt_tokens) AS promptTokens, sum(completion_tokens) AS completionTokens,
       sum(cached_tokens) AS cachedTokens
     FROM usage WHERE created_at >= @since AND (@chatId IS NULL OR chat_id = @chatId)
     GROUP BY chat_id, model ORDER BY chat_id, model`,
  ).all({ since, chatId: chatId ?? null }) as UsageTotal[];
}

/** Tokens (prompt + completion) a chat used since `since` (ms): the daily limit's measure. */
export function chatTokensSince(sqlite: Database.Database, chatId: number, since: number): number {
  return prepared(
    sqlite,
    `SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) FROM usage WHERE chat_id = ? AND created_at >= ?`,
  )
    .pluck()
    .get(chatId, since) as number;
}
