/**
 * The transcriber (src/worker/openai/transcribe.ts) against the fake OpenAI server: the multipart
 * upload, the transcript, and its failures classified as a chat call's are; then the pure helpers
 * that pick its URL and the file name the API accepts.
 */
import { loadWorkerConfig } from '../../src/shared/config';
import { BASE_ENV, configError } from '../helpers/config-env';
import { ContextTooLongError } from '../../src/worker/errors';
import { audioFilename, createTranscriber, type Transcriber } from '../../src/worker/openai/transcribe';
import { edgeError } from '../helpers/edge-error';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';

const apiKey = 'sk-test-transcribe-0123456789';
const model = 'gpt-4o-mini-transcribe';
// an OGG page header and a few bytes beyond it: the fake reads bytes, not sound
const voice = {
  bytes: Buffer.from('OggS\0\x02voice note bytes \xff\xfe'),
  filename: 'voice.ogg',
  mimeType: 'audio/ogg',
};

describe('transcriber', () => {
  let ai: FakeOpenAI;
  let transcribe: Transcriber;

  beforeEach(async () => {
    ai = await startFakeOpenAI({ apiKey });
    transcribe = createTranscriber({ apiKey, url: ai.transcriptionsUrl, model, timeoutSeconds: 5 });
  });
  afterEach(() => ai.close());

  it('returns the transcript, trimmed', async () => {
    ai.scriptTranscripts(['  Buy milk on the way home.\n']);
    await expect(transcribe(voice)).resolves.toBe('Buy milk on the way home.');
  });

  it('uploads the file bytes under its name and type, with the model, as a multipart form', async () => {
    await transcribe(voice);
    const [sent] = ai.transcriptions;
    expect(sent).toMatchObject({
      model,
      fileName: 'voice.ogg',
      mimeType: 'audio/ogg',
      size: voice.bytes.length,
      status: 200,
    });
    expect(sent?.data.equals(voice.bytes)).toBe(true);
    expect(sent?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(sent?.headers.authorization).toBe(`Bearer ${apiKey}`);
  });

  it('returns an empty transcript as an empty string, not an error', async () => {
    ai.scriptTranscripts(['   ']);
    await expect(transcribe(voice)).resolves.toBe('');
  });

  it('takes a plain-text answer at its word, and refuses for good one without a transcript', async () => {
    const plain = { 'content-type': 'text/plain; charset=utf-8' };
    ai.failNextTranscription({ status: 200, rawBody: 'Call me back.\n', headers: plain });
    await expect(transcribe(voice)).resolves.toBe('Call me back.');
    ai.failNextTranscription({ status: 200, rawBody: '{"transcript":"Call me back."}' });
    const err = await edgeError(transcribe(voice));
    expect(err).toMatchObject({ errorClass: 'permanent', code: 'no_text' });
  });

  it('makes one request per call: the queue owns retries, not the SDK', async () => {
    ai.failNextTranscription({ status: 500 });
    await edgeError(transcribe(voice));
    expect(ai.transcriptions).toHaveLength(1);
  });

  it('classifies a 500 as transient', async () => {
    ai.failNextTranscription({ status: 500 });
    const err = await edgeError(transcribe(voice));
    expect(err).toMatchObject({ errorClass: 'transient', service: 'openai', code: '500' });
    expect(err.message).toMatch(/^The transcription model's server answered 500: /);
  });

  it('keeps the wait a 429 asks for, as a transient failure', async () => {
    ai.failNextTranscription({ status: 429, retryAfter: 7 });
    const err = await edgeError(transcribe(voice));
    expect(err).toMatchObject({ errorClass: 'transient', code: 'rate_limit_exceeded', retryAfterMs: 7000 });
  });

  it('classifies a timeout as transient, naming the setting', async () => {
    transcribe = createTranscriber({ apiKey, url: ai.transcriptionsUrl, model, timeoutSeconds: 0.2 });
    ai.failNextTranscription({ hang: true });
    const err = await edgeError(transcribe(voice));
    expect(err).toMatchObject({ errorClass: 'transient', code: 'timeout' });
    expect(err.message).toBe('The transcription model did not answer within 0.2 s (OPENAI_TIMEOUT_SECONDS).');
  });

  it('classifies a cancelled call as transient', async () => {
    ai.failNextTranscription({ hang: true });
    const controller = new AbortController();
    const pending = edgeError(transcribe(voice, controller.signal));
    await ai.waitFor(() => ai.transcriptions.length === 1, 5000, 'the upload');
    controller.abort();
    await expect(pending).resolves.toMatchObject({ errorClass: 'transient', code: 'aborted' });
  });

  it("refuses a format the API does not take for good, quoting the provider's words", async () => {
    const err = await edgeError(transcribe({ ...voice, filename: 'voice.amr', mimeType: 'audio/amr' }));
    expect(err).toMatchObject({ errorClass: 'permanent', code: '400' });
    expect(err.said).toMatch(/^Invalid file format\. Supported formats: \[/);
    expect(err.message).toBe(`The transcription model's server answered 400: ${err.said}`);
  });

  it('refuses an audio file too short for good, with the code and words of the API', async () => {
    const err = await edgeError(transcribe({ ...voice, bytes: Buffer.alloc(0) }));
    expect(err).toMatchObject({
      errorClass: 'permanent',
      code: 'audio_too_short',
      said: 'Audio file is too short. Minimum audio length is 0.1 seconds.',
    });
  });

  it('refuses a file over the size limit for good, without asking a run to compact', async () => {
    ai.failNextTranscription({
      status: 413,
      error: { message: 'Maximum content size limit (26214400) exceeded (26300000 bytes read)', code: null },
    });
    const err = await edgeError(transcribe(voice));
    expect(err).toMatchObject({ errorClass: 'permanent', code: '413' });
    expect(err).not.toBeInstanceOf(ContextTooLongError);
    expect(err.said).toMatch(/^Maximum content size limit/);
  });

  it('pauses processing on a 401 until the key is fixed, as a chat call does', async () => {
    transcribe = createTranscriber({
      apiKey: 'sk-wrong-key-abcdef0123456789',
      url: ai.transcriptionsUrl,
      model,
      timeoutSeconds: 5,
    });
    const err = await edgeError(transcribe(voice));
    expect(err).toMatchObject({ errorClass: 'paused', code: 'invalid_api_key' });
    expect(err.message).toMatch(/processing is paused until OPENAI_API_KEY is fixed\.$/);
  });

  it('names the transcription settings when the server knows no such model', async () => {
    ai.failNextTranscription({
      status: 404,
      error: { message: 'The model `whisper-9` does not exist.', code: 'model_not_found' },
    });
    const err = await edgeError(transcribe(voice));
    expect(err).toMatchObject({ errorClass: 'paused', code: 'model_not_found' });
    expect(err.message).toMatch(
      /paused until OPENAI_TRANSCRIBE_MODEL or OPENAI_TRANSCRIPTIONS_URL is fixed\.$/,
    );
  });

  it('puts the API key in no error message, nor in what the provider said', async () => {
    const wrongKey = 'sk-wrong-key-abcdef0123456789';
    const failures: Error[] = [];
    const bad = createTranscriber({ apiKey: wrongKey, url: ai.transcriptionsUrl, model, timeoutSeconds: 5 });
    failures.push(await edgeError(bad(voice)));
    ai.failNextTranscription({ status: 400, error: { message: `The key ${apiKey} may not do that.` } });
    failures.push(await edgeError(transcribe(voice)));
    ai.failNextTranscription({ status: 500 });
    failures.push(await edgeError(transcribe(voice)));
    const unreachable = createTranscriber({
      apiKey,
      url: 'http://127.0.0.1:9/v1/audio/transcriptions',
      model,
      timeoutSeconds: 5,
    });
    failures.push(await edgeError(unreachable(voice)));

    expect(failures.map((err) => (err as { errorClass?: string }).errorClass)).toEqual([
      'paused',
      'permanent',
      'transient',
      'transient',
    ]);
    for (const err of failures) {
      const seen = `${err.message} ${(err as { said?: string }).said ?? ''}`;
      for (const key of [apiKey, wrongKey, apiKey.slice(3), wrongKey.slice(3)]) {
        expect(seen).not.toContain(key);
      }
    }
  });

  it('refuses a URL the SDK would not call as given', () => {
    expect(() =>
      createTranscriber({ apiKey, url: `${ai.url}/v1/transcribe`, model, timeoutSeconds: 5 }),
    ).toThrow(/must end in \/audio\/transcriptions/);
  });
});

describe('the transcriptions URL (OPENAI_TRANSCRIPTIONS_URL)', () => {
  const urlOf = (env: Record<string, string>): string =>
    loadWorkerConfig({ ...BASE_ENV, ...env }).openai.transcriptionsUrl;

  it("is OpenAI's own beside the default chat URL", () => {
    expect(urlOf({})).toBe('https://api.openai.com/v1/audio/transcriptions');
  });

  it("is on a compatible server's base beside its chat URL", () => {
    expect(urlOf({ OPENAI_CHAT_COMPLETIONS_URL: 'https://api.groq.com/openai/v1/chat/completions' })).toBe(
      'https://api.groq.com/openai/v1/audio/transcriptions',
    );
    expect(urlOf({ OPENAI_CHAT_COMPLETIONS_URL: 'http://127.0.0.1:8080/v1/chat/completions' })).toBe(
      'http://127.0.0.1:8080/v1/audio/transcriptions',
    );
  });

  it('is the URL given when one is set, and must be a transcriptions URL', () => {
    expect(
      urlOf({
        OPENAI_CHAT_COMPLETIONS_URL: 'https://openrouter.ai/api/v1/chat/completions',
        OPENAI_TRANSCRIPTIONS_URL: 'https://api.openai.com/v1/audio/transcriptions',
      }),
    ).toBe('https://api.openai.com/v1/audio/transcriptions');
    expect(
      configError({ ...BASE_ENV, OPENAI_TRANSCRIPTIONS_URL: 'https://api.openai.com/v1' }).message,
    ).toMatch(/OPENAI_TRANSCRIPTIONS_URL must end in \/audio\/transcriptions/);
  });

  it('is not used when voice is off', () => {
    expect(
      loadWorkerConfig({ ...BASE_ENV, OPENAI_TRANSCRIBE_MODEL: 'off' }).openai.transcribeModel,
    ).toBeNull();
  });
});

describe('audioFilename', () => {
  it('names a voice note .ogg and a video note .mp4, as Telegram sends them', () => {
    expect(audioFilename('voice', 'audio/ogg')).toBe('voice.ogg');
    expect(audioFilename('video_note', 'video/mp4')).toBe('video-note.mp4');
  });

  it('takes the extension of a MIME type the API accepts, parameters and case aside', () => {
    expect(audioFilename('audio', 'audio/mpeg')).toBe('audio.mp3');
    expect(audioFilename('audio', 'audio/x-m4a')).toBe('audio.m4a');
    expect(audioFilename('audio', 'Audio/FLAC')).toBe('audio.flac');
    expect(audioFilename('audio', 'audio/x-wav')).toBe('audio.wav');
    expect(audioFilename('voice', 'audio/ogg; codecs=opus')).toBe('voice.ogg');
    expect(audioFilename('audio', 'audio/webm')).toBe('audio.webm');
  });

  it("falls back to the kind's usual format when the type is missing or not one the API names", () => {
    expect(audioFilename('voice', undefined)).toBe('voice.ogg');
    expect(audioFilename('video_note', '')).toBe('video-note.mp4');
    expect(audioFilename('audio', 'application/octet-stream')).toBe('audio.mp3');
  });

  it('always ends in an extension the API accepts', () => {
    const accepted = ['flac', 'mp3', 'mp4', 'mpeg', 'mpga', 'm4a', 'ogg', 'wav', 'webm'];
    const types = [undefined, 'audio/ogg', 'video/mp4', 'audio/mpeg', 'audio/aac', 'text/plain'];
    for (const kind of ['voice', 'video_note', 'audio'] as const) {
      for (const type of types) {
        expect(accepted).toContain(audioFilename(kind, type).split('.').pop());
      }
    }
  });
});
