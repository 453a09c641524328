import fs from 'node:fs';
import path from 'node:path';
import { FILE_DOWNLOAD } from '../helpers/fake-telegram';
import { lastUserText, type ChatCompletionRequest, type ChatMessage } from '../helpers/fake-openai';
import { useWorkerHarness } from '../helpers/worker-harness';
import { NO_PROJECT_NOTICE, VOICE_OFF_NOTICE } from '../../src/worker/message-files';
import { TEST_API_KEY } from '../helpers/worker-env';

// Files, photos and voice through the real worker: the fake Bot API serves the files by getFile
// and its download route, the fake OpenAI server transcribes and answers, and the project is a
// real folder. What the person and the model each get is asserted from what the fakes recorded.

jest.setTimeout(60_000);

const h = useWorkerHarness();
const CHAT = 101;
const AGENT = { AGENT_APPROVAL: 'never' };
const TODAY = new Date().toISOString().slice(0, 10);

function project(): string {
  return path.join(path.dirname(h.dbPath), 'workspaces', 'default');
}

function uploads(): string[] {
  const dir = path.join(project(), 'uploads');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

/** The first user message of a request: the run's message. */
function firstUser(req: ChatCompletionRequest): ChatMessage {
  return req.messages.find((m) => m.role === 'user')!;
}

function textOf(m: ChatMessage): string {
  const c = m.content;
  if (typeof c === 'string') return c;
  return Array.isArray(c) ? c.map((p) => p.text ?? '').join('') : '';
}

function imageUrls(m: ChatMessage): string[] {
  const c = m.content;
  if (!Array.isArray(c)) return [];
  return c
    .filter((p) => p.type === 'image_url')
    .map((p) => String((p as { image_url?: { url?: string } }).image_url?.url));
}

async function answered(count: number, what: string): Promise<string[]> {
  await h.telegram.waitFor(() => h.telegram.sentTo(CHAT).length >= count, 20_000, what);
  return h.telegram.sentTo(CHAT).map((m) => m.text);
}

describe('files, photos and voice', () => {
  it('saves a document into uploads/, names its path and carries the caption; the same name again is a new file', async () => {
    await h.start(AGENT);
    const first = Buffer.from('line 1: build failed\n');
    const second = Buffer.from('another build log, other bytes\n');
    h.telegram.pushMedia(
      CHAT,
      { document: { data: first, fileName: 'build.log', mimeType: 'text/plain' } },
      { caption: 'why does this fail?' },
    );
    await answered(1, 'the answer to the first document');
    h.telegram.pushMedia(CHAT, { document: { data: second, fileName: 'build.log', mimeType: 'text/plain' } });
    await answered(2, 'the answer to the second document');
    await h.settled();

    expect(uploads()).toEqual([`${TODAY}-build-2.log`, `${TODAY}-build.log`]);
    expect(fs.readFileSync(path.join(project(), 'uploads', `${TODAY}-build.log`))).toEqual(first);
    expect(fs.readFileSync(path.join(project(), 'uploads', `${TODAY}-build-2.log`))).toEqual(second);
    const [one, two] = h.openai.requests.map((r) => textOf(firstUser(r.body)));
    expect(one).toContain(`uploads/${TODAY}-build.log`);
    expect(one).toContain('text/plain');
    expect(one).toContain('why does this fail?');
    // the second run's own message names the second file (the first is earlier in the session)
    expect(lastUserText(h.openai.requests[1]!.body)).toContain(`uploads/${TODAY}-build-2.log`);
    expect(two).toBe(one);
    // nothing of the file is in the database: metadata and paths only
    const stored = h.rows('SELECT path, bytes, saved FROM inbox_files ORDER BY inbox_id');
    expect(stored).toEqual([
      { path: `uploads/${TODAY}-build.log`, bytes: first.length, saved: 1 },
      { path: `uploads/${TODAY}-build-2.log`, bytes: second.length, saved: 1 },
    ]);
  });

  it('gives a photo to a model that sees as an image part (OPENAI_VISION=on), the largest size', async () => {
    await h.start({ ...AGENT, OPENAI_VISION: 'on' });
    const big = Buffer.from('big jpeg bytes');
    h.telegram.pushMedia(
      CHAT,
      {
        photo: [
          { data: Buffer.from('tiny'), width: 90, height: 67 },
          { data: big, width: 1280, height: 960 },
        ],
      },
      { caption: 'what is wrong here?' },
    );
    await answered(1, 'the answer to the photo');
    const user = firstUser(h.openai.requests[0]!.body);
    expect(imageUrls(user)).toEqual([`data:image/jpeg;base64,${big.toString('base64')}`]);
    expect(textOf(user)).toContain(`uploads/${TODAY}-photo.jpg`);
    expect(textOf(user)).toContain('what is wrong here?');
    expect(fs.readFileSync(path.join(project(), 'uploads', `${TODAY}-photo.jpg`))).toEqual(big);
  });

  it('tells a model that does not see only the path of a photo (OPENAI_VISION=off)', async () => {
    await h.start({ ...AGENT, OPENAI_VISION: 'off' });
    h.telegram.pushMedia(CHAT, { photo: [{ data: Buffer.from('jpeg'), width: 800, height: 600 }] });
    await answered(1, 'the answer to the photo');
    const user = firstUser(h.openai.requests[0]!.body);
    expect(typeof user.content).toBe('string');
    expect(textOf(user)).toContain(`uploads/${TODAY}-photo.jpg`);
    expect(textOf(user)).toContain('800×600');
  });

  it("makes a voice note's transcript the run's text and quotes it to the person", async () => {
    h.openai.setTranscriber(() => 'check why the tests fail on main');
    await h.start(AGENT);
    h.telegram.pushMedia(CHAT, { voice: { data: Buffer.from('OggS voice'), duration: 3 } });
    const [reply] = await answered(1, 'the answer to the voice note');
    expect(h.openai.transcriptions).toHaveLength(1);
    expect(h.openai.transcriptions[0]!.data).toEqual(Buffer.from('OggS voice'));
    expect(h.openai.transcriptions[0]!.model).toBe('gpt-4o-mini-transcribe');
    expect(lastUserText(h.openai.requests[0]!.body)).toBe('check why the tests fail on main');
    // the quote comes first, the answer after it
    expect(reply).toBe(
      '<blockquote>check why the tests fail on main</blockquote>\n\necho: check why the tests fail on main',
    );
    // nothing of the audio is kept: the transcript is
    expect(uploads()).toEqual([]);
    expect(h.rows('SELECT transcript FROM inbox_files')).toEqual([
      { transcript: 'check why the tests fail on main' },
    ]);
  });

  it('answers a 25 MB document with a clear reply, stores nothing, and goes on; a restart does not retry it', async () => {
    const worker = await h.start(AGENT);
    h.telegram.pushMedia(CHAT, {
      document: { data: Buffer.from('x'), declaredSize: 25 * 1024 * 1024, fileName: 'dump.bin' },
    });
    const [notice] = await answered(1, 'the refusal');
    expect(notice).toMatch(/25 MB\) is over the 20 MB a bot may download from Telegram/);
    h.telegram.pushMessage(CHAT, 'next question');
    await answered(2, 'the next answer');
    expect(h.telegram.sentTo(CHAT)[1]!.text).toBe('echo: next question');
    await h.settled();
    expect(uploads()).toEqual([]);
    // known too big from the message itself: Telegram was not even asked for it
    expect(h.telegram.callsOf('getFile')).toEqual([]);
    expect(h.rows(`SELECT kind, status, error FROM inbox ORDER BY id`)).toEqual([
      { kind: 'document', status: 'skipped', error: 'file over TG_FILE_MAX_MB' },
      { kind: 'text', status: 'done', error: null },
    ]);

    await worker.stop(2000);
    await h.start(AGENT);
    h.telegram.pushMessage(CHAT, 'after the restart');
    await answered(3, 'the answer after the restart');
    await h.settled();
    expect(h.telegram.sentTo(CHAT).map((m) => m.text)).toEqual([
      notice,
      'echo: next question',
      'echo: after the restart',
    ]);
    expect(h.openai.requests).toHaveLength(2);
  });

  it('refuses a file Telegram itself says is too big (getFile 400) without failing the worker', async () => {
    await h.start(AGENT);
    // the message does not say the size; getFile does, by refusing
    const update = h.telegram.pushMedia(CHAT, {
      document: { data: Buffer.from('x'), declaredSize: 21 * 1024 * 1024, fileName: 'big.iso' },
    });
    delete (update.message!.document as { file_size?: number }).file_size;
    const [notice] = await answered(1, 'the refusal');
    expect(notice).toMatch(/over the 20 MB a bot may download/);
    await h.settled();
    expect(h.rows(`SELECT status FROM inbox`)).toEqual([{ status: 'skipped' }]);
    expect(uploads()).toEqual([]);
  });

  it('makes an album of three photos one run with three files', async () => {
    await h.start({ ...AGENT, OPENAI_VISION: 'on' });
    for (const [i, caption] of [[1, 'three screenshots'], [2], [3]] as const) {
      h.telegram.pushMedia(
        CHAT,
        { photo: [{ data: Buffer.from(`photo ${i}`), width: 640, height: 480 }] },
        { mediaGroupId: '13579', ...(caption ? { caption } : {}) },
      );
    }
    await answered(1, 'the one answer');
    await h.settled();
    expect(h.openai.requests).toHaveLength(1);
    const user = firstUser(h.openai.requests[0]!.body);
    expect(imageUrls(user)).toHaveLength(3);
    expect(textOf(user)).toContain('three screenshots');
    expect(uploads()).toEqual([`${TODAY}-photo-2.jpg`, `${TODAY}-photo-3.jpg`, `${TODAY}-photo.jpg`]);
    expect(h.rows('SELECT count(*) AS n FROM agent_runs')).toEqual([{ n: 1 }]);
    expect(h.rows(`SELECT status FROM inbox ORDER BY id`)).toEqual([
      { status: 'done' },
      { status: 'done' },
      { status: 'done' },
    ]);
    expect(h.telegram.sentTo(CHAT)).toHaveLength(1);
  });

  it('retries a download that failed on the way (502, then an expired link) and saves the file once', async () => {
    await h.start(AGENT);
    h.telegram.failNext(FILE_DOWNLOAD, { httpStatus: 502, body: 'Bad Gateway' });
    h.telegram.failNext(FILE_DOWNLOAD, { errorCode: 404, description: 'Not Found' });
    h.telegram.pushMedia(CHAT, { document: { data: Buffer.from('notes'), fileName: 'notes.txt' } });
    await answered(1, 'the answer after the retries');
    await h.settled();
    expect(h.telegram.downloads.length).toBe(3);
    expect(uploads()).toEqual([`${TODAY}-notes.txt`]);
    expect(h.rows('SELECT status, attempts FROM inbox')).toEqual([{ status: 'done', attempts: 3 }]);
  });

  it('answers that voice is off when OPENAI_TRANSCRIBE_MODEL=off', async () => {
    await h.start({ ...AGENT, OPENAI_TRANSCRIBE_MODEL: 'off' });
    h.telegram.pushMedia(CHAT, { voice: { data: Buffer.from('OggS') } });
    const [notice] = await answered(1, 'the refusal');
    expect(notice).toBe(VOICE_OFF_NOTICE);
    expect(h.openai.transcriptions).toEqual([]);
    expect(h.openai.requests).toEqual([]);
  });

  it('without the agent tools, refuses a file (no project to save it in) and still reads a voice note', async () => {
    await h.start({ AGENT_TOOLS: 'off' });
    h.telegram.pushMedia(CHAT, { document: { data: Buffer.from('x'), fileName: 'a.txt' } });
    const [notice] = await answered(1, 'the refusal');
    expect(notice).toBe(NO_PROJECT_NOTICE);
    h.openai.setTranscriber(() => 'hello there');
    h.telegram.pushMedia(CHAT, { voice: { data: Buffer.from('OggS') } });
    const texts = await answered(2, 'the answer to the voice note');
    expect(texts[1]).toBe('<blockquote>hello there</blockquote>\n\necho: hello there');
    expect(fs.existsSync(project())).toBe(false);
  });

  it('sends an image the agent sends back as a photo (send_file)', async () => {
    fs.mkdirSync(project(), { recursive: true });
    // a real 1×1 PNG, as Telegram checks what it is given as a photo
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    );
    h.openai.script([
      { toolCalls: [{ name: 'send_file', arguments: { path: 'chart.png', caption: 'the chart' } }] },
      'sent it',
    ]);
    await h.start({ ...AGENT, AGENT_APPROVAL: 'never' });
    fs.writeFileSync(path.join(project(), 'chart.png'), png);
    h.telegram.pushMessage(CHAT, 'send me the chart');
    await h.telegram.waitFor(() => h.telegram.callsOf('sendPhoto').length === 1, 20_000, 'the photo');
    await answered(1, 'the answer');
    expect(h.telegram.callsOf('sendDocument')).toEqual([]);
    expect(h.telegram.photos.map((p) => p.caption)).toEqual(['the chart']);
  });

  it('keeps the API key and the bot token out of what it stores and logs about files', async () => {
    h.telegram.failNext(FILE_DOWNLOAD, { httpStatus: 502, body: 'Bad Gateway' });
    await h.start(AGENT);
    h.telegram.pushMedia(CHAT, { document: { data: Buffer.from('data'), fileName: 'x.txt' } });
    await answered(1, 'the answer');
    await h.settled();
    const stored =
      JSON.stringify(h.rows('SELECT * FROM inbox')) + JSON.stringify(h.rows('SELECT * FROM inbox_files'));
    for (const secret of [h.telegram.token, TEST_API_KEY]) {
      expect(stored).not.toContain(secret);
      expect(h.log.lines.join('\n')).not.toContain(secret);
    }
  });
});
