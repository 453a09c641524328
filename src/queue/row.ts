import type { InboxRow, InboxStatus, Lane } from '../db/schema';

/** The inbox columns under their schema names, for raw prepared statements on hot paths. */
export const INBOX_COLUMNS = `id, update_id AS updateId, chat_id AS chatId, message_id AS messageId, kind, text,
  lane, from_id AS fromId, callback_id AS callbackId,
  sent_at AS sentAt, media, media_group_id AS mediaGroupId,
  thread_id AS threadId, status, attempts, available_at AS availableAt, error, error_class AS errorClass,
  error_code AS errorCode, reply, reply_parts_sent AS replyPartsSent, received_at AS receivedAt,
  started_at AS startedAt, finished_at AS finishedAt`;

export type { InboxRow, InboxStatus, Lane };
