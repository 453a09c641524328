// The file a Telegram message carries, reduced to what getFile and the run need, and back from
// the JSON the inbox keeps. Pure.

import type { TgMessage } from './classify-update';

/** The kinds of file the agent takes: saved into the project, or transcribed (voice). */
export const MEDIA_KINDS = ['document', 'photo', 'voice', 'video_note', 'audio', 'video'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** One size of a file Telegram keeps (a photo comes in several). */
export interface FileVariant {
  readonly fileId: string;
  /** `file_size` as Telegram said it; null when it did not. */
  readonly size: number | null;
  readonly width?: number;
  readonly height?: number;
}

/** A message's file as the inbox keeps it (`inbox.media`, JSON). */
export interface MessageMedia {
  readonly kind: MediaKind;
  /** Largest first: a photo's sizes, else the one file. */
  readonly variants: readonly FileVariant[];
  /** The sender's file name (documents, audio, video). */
  readonly name: string | null;
  readonly mimeType: string | null;
  /** Seconds, for voice, audio and video. */
  readonly duration?: number;
}

/** Whether a message kind is one the agent takes as a file. */
export function isMediaKind(kind: string): kind is MediaKind {
  return (MEDIA_KINDS as readonly string[]).includes(kind);
}

/** Whether a kind is words to transcribe rather than a file to save. */
export function isSpoken(kind: MediaKind): boolean {
  return kind === 'voice' || kind === 'video_note';
}

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
const str = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

function variantOf(raw: Record<string, unknown>): FileVariant | null {
  const fileId = str(raw.file_id);
  if (fileId === null) return null;
  const width = num(raw.width);
  const height = num(raw.height);
  return {
    fileId,
    size: num(raw.file_size) ?? null,
    ...(width !== undefined ? { width } : {}),
    ...(height !== undefined ? { height } : {}),
  };
}

/** The file of a message of kind `kind`, or null when Telegram's shape is not what it documents. */
export function mediaOf(message: TgMessage, kind: MediaKind): MessageMedia | null {
  const field = message[kind];
  if (kind === 'photo') {
    if (!Array.isArray(field)) return null;
    const variants = field
      .filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null)
      .map(variantOf)
      .filter((v): v is FileVariant => v !== null)
      // Telegram lists sizes smallest first; the run wants the largest that may be downloaded
      .sort((a, b) => (b.width ?? 0) * (b.height ?? 0) - (a.width ?? 0) * (a.height ?? 0));
    return variants.length === 0 ? null : { kind, variants, name: null, mimeType: 'image/jpeg' };
  }
  if (typeof field !== 'object' || field === null) return null;
  const raw = field as Record<string, unknown>;
  const variant = variantOf(raw);
  if (variant === null) return null;
  const duration = num(raw.duration);
  return {
    kind,
    variants: [variant],
    name: str(raw.file_name),
    // a video note carries no mime type: it is always an MP4
    mimeType: str(raw.mime_type) ?? (kind === 'video_note' ? 'video/mp4' : null),
    ...(duration !== undefined ? { duration } : {}),
  };
}

/** `inbox.media` read back; null when absent or not a MessageMedia (written by an older build). */
export function parseMedia(json: string | null): MessageMedia | null {
  if (json === null) return null;
  try {
    const value = JSON.parse(json) as Partial<MessageMedia>;
    if (typeof value.kind !== 'string' || !isMediaKind(value.kind)) return null;
    if (!Array.isArray(value.variants) || value.variants.length === 0) return null;
    return value as MessageMedia;
  } catch {
    return null;
  }
}
