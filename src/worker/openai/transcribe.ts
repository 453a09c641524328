// Voice notes as text: one audio-transcriptions call through the official SDK; every failure
// becomes an `EdgeError` by the same rules as a chat call (see ./errors.ts), so the queue retries
// what may pass later and tells the person why the rest cannot.

import OpenAI, { toFile } from 'openai';
import { EdgeError } from '../errors';
import { classifyOpenAIError, type OpenAICall } from './errors';

/** The path the SDK appends to its base URL for a transcription. */
export const TRANSCRIPTIONS_SUFFIX = '/audio/transcriptions';

/** How the transcriber reaches the speech-to-text model. */
export interface TranscriberOptions {
  readonly apiKey: string;
  /** The full transcriptions URL, e.g. `https://api.openai.com/v1/audio/transcriptions`. */
  readonly url: string;
  readonly model: string;
  readonly timeoutSeconds: number;
}

/** An audio file as the transcriber sends it; the file name's extension tells the API its format. */
export interface AudioFile {
  readonly bytes: Buffer;
  readonly filename: string;
  readonly mimeType: string;
}

/** Turns an audio file into its transcript, trimmed ('' when nothing was said); throws `EdgeError`. */
export type Transcriber = (audio: AudioFile, signal?: AbortSignal) => Promise<string>;

/** How a transcription's failures name the call and what the operator fixes for it. */
const TRANSCRIPTION_CALL: OpenAICall = {
  noun: 'transcription model',
  modelSettings: 'OPENAI_TRANSCRIBE_MODEL or OPENAI_TRANSCRIPTIONS_URL',
  // an audio file over the size limit is refused for good: there is no session to compact
  compacts: false,
};

/**
 * A `Transcriber` over the OpenAI SDK. The SDK's retries are off: the queue owns retries, so
 * attempts are counted and visible.
 */
export function createTranscriber(options: TranscriberOptions): Transcriber {
  if (!options.url.endsWith(TRANSCRIPTIONS_SUFFIX)) {
    // the SDK always appends the suffix to its base: any other URL would be called wrongly
    throw new Error(
      `The transcriptions URL must end in ${TRANSCRIPTIONS_SUFFIX}, like https://api.openai.com/v1${TRANSCRIPTIONS_SUFFIX}.`,
    );
  }
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.url.slice(0, -TRANSCRIPTIONS_SUFFIX.length),
    maxRetries: 0,
    timeout: options.timeoutSeconds * 1000,
  });

  return async (audio, signal) => {
    // Our own deadline as well as the SDK's: the SDK tells its timeout from a dropped connection by
    // the abort error's class, which a test runner's separate realm hides; this one is certain.
    const deadline = AbortSignal.timeout(options.timeoutSeconds * 1000);
    let answer: unknown;
    try {
      const file = await toFile(audio.bytes, audio.filename, { type: audio.mimeType });
      answer = await client.audio.transcriptions.create(
        { file, model: options.model },
        { signal: signal ? AbortSignal.any([signal, deadline]) : deadline },
      );
    } catch (err) {
      if (deadline.aborted && !signal?.aborted) throw timedOut(options.timeoutSeconds);
      throw classifyOpenAIError(err, TRANSCRIPTION_CALL);
    }
    return transcriptOf(answer);
  };
}

function timedOut(seconds: number): EdgeError {
  return new EdgeError(
    'transient',
    'openai',
    'timeout',
    `The transcription model did not answer within ${seconds} s (OPENAI_TIMEOUT_SECONDS).`,
  );
}

// The API answers `{ text }` as JSON; a compatible server that answers plain text is taken at its
// word. An answer with neither would come again the same way, so it is not worth another try.
function transcriptOf(answer: unknown): string {
  if (typeof answer === 'string') return answer.trim();
  const text =
    typeof answer === 'object' && answer !== null ? (answer as { text?: unknown }).text : undefined;
  if (typeof text === 'string') return text.trim();
  throw new EdgeError(
    'permanent',
    'openai',
    'no_text',
    'The transcription model answered without a `text` field; check OPENAI_TRANSCRIPTIONS_URL.',
  );
}

/** The kinds of Telegram message that carry speech. */
export type SpeechKind = 'voice' | 'video_note' | 'audio';

// The API tells an upload's format by its name's extension and accepts only these:
// flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, webm.
const EXTENSION_BY_TYPE: Readonly<Record<string, string>> = {
  'audio/ogg': 'ogg',
  'audio/opus': 'ogg',
  'audio/x-opus+ogg': 'ogg',
  'application/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/mpga': 'mpga',
  'audio/mp4': 'm4a',
  'audio/m4a': 'm4a',
  'audio/x-m4a': 'm4a',
  'video/mp4': 'mp4',
  'video/mpeg': 'mpeg',
  'audio/wav': 'wav',
  'audio/wave': 'wav',
  'audio/x-wav': 'wav',
  'audio/vnd.wave': 'wav',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
  'audio/webm': 'webm',
  'video/webm': 'webm',
};

// What Telegram sends for each kind: voice notes are OGG/Opus, video notes MP4; a music file is
// most often an MP3.
const DEFAULT_BY_KIND: Readonly<Record<SpeechKind, { name: string; extension: string }>> = {
  voice: { name: 'voice', extension: 'ogg' },
  video_note: { name: 'video-note', extension: 'mp4' },
  audio: { name: 'audio', extension: 'mp3' },
};

/**
 * A file name the transcriptions API accepts for a Telegram voice note, video note or audio file:
 * the extension of its MIME type when the API takes that format, else the kind's usual one (the
 * API reads the audio itself; the name only has to pass its check of the extension).
 */
export function audioFilename(kind: SpeechKind, mimeType: string | undefined): string {
  const type = (mimeType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const fallback = DEFAULT_BY_KIND[kind];
  return `${fallback.name}.${EXTENSION_BY_TYPE[type] ?? fallback.extension}`;
}
