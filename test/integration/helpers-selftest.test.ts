/**
 * The fakes are only worth something if the real clients see the real APIs in them: these tests
 * drive node-telegram-bot-api, the openai SDK and the pm2 CLI against the helpers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Api, NetworkError, TelegramApiError } from 'node-telegram-bot-api';
import OpenAI, {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  RateLimitError,
  toFile,
} from 'openai';
import {
  startFakeTelegram,
  telegramErrors,
  FILE_DOWNLOAD,
  type FakeTelegram,
} from '../helpers/fake-telegram';
import { openAIErrors, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { openTempDb, removeTempDir } from '../helpers/temp-db';
import { isProcessAlive, reapSandboxes, startPm2Sandbox, type Pm2Sandbox } from '../helpers/pm2-sandbox';

// Updates Telegram sent, recorded by other projects (../shared/recordings/telegram, index.json says where from).
const TELEGRAM_RECORDINGS = path.resolve(__dirname, '../../../shared/recordings/telegram');

/** The message of a recorded update. */
function recordedMessage(file: string): Record<string, unknown> {
  const recording = JSON.parse(fs.readFileSync(path.join(TELEGRAM_RECORDINGS, file), 'utf8')) as {
    update: { message: Record<string, unknown> };
  };
  return recording.update.message;
}

/** The field names of an object Telegram sent, less the optional thumbnails the fake does not make. */
function fieldsOf(value: unknown): string[] {
  return Object.keys(value as object)
    .filter((key) => key !== 'thumb' && key !== 'thumbnail')
    .sort();
}

/** The message of an update, loosely typed for reading the fields a test checks. */
function messageOf<T = Record<string, unknown>>(update: unknown): T | undefined {
  return (update as { message?: T } | undefined)?.message;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

describe('fake Telegram with node-telegram-bot-api', () => {
  let tg: FakeTelegram;
  let api: Api;

  beforeEach(async () => {
    tg = await startFakeTelegram();
    api = new Api(tg.token, { apiRoot: tg.url, maxRetries: 0 });
  });
  afterEach(() => tg.close());

  it('answers getMe with the bot user and refuses a wrong token with 401', async () => {
    await expect(api.getMe()).resolves.toMatchObject({ is_bot: true, username: 'autonous_test_bot' });
    const wrong = new Api('42:wrong', { apiRoot: tg.url, maxRetries: 0 });
    const err = await rejection(wrong.getMe());
    expect(err).toBeInstanceOf(TelegramApiError);
    expect(err).toMatchObject({ errorCode: 401, description: 'Unauthorized' });
    const res = await fetch(`${tg.url}/bot${tg.token}/noSuchMethod`, { method: 'POST' });
    expect(res.status).toBe(404);
    await expect(res.json()).resolves.toEqual({ ok: false, error_code: 404, description: 'Not Found' });
  });

  it('answers a held long poll at once on a push, not at its timeout', async () => {
    const poll = api.getUpdates({ timeout: 10 });
    await tg.waitFor(() => tg.callsOf('getUpdates').length === 1, 2000, 'the poll to arrive');
    const pushedAt = Date.now();
    const update = tg.pushMessage(77, 'hello');
    const updates = await poll;
    // typically 2–5 ms; the bound is for a loaded machine and still 20× below the 10 s timeout
    expect(Date.now() - pushedAt).toBeLessThan(500);
    expect(updates).toEqual([update]);
    expect(update).toMatchObject({
      update_id: 1000,
      message: { message_id: 1, chat: { id: 77, type: 'private' }, text: 'hello' },
    });
  });

  it('returns [] when the long poll times out with nothing pending', async () => {
    const started = Date.now();
    await expect(api.getUpdates({ timeout: 1 })).resolves.toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('forgets updates below the offset and honours limit', async () => {
    const ids = [1, 2, 3].map((n) => tg.pushMessage(5, `m${n}`).update_id);
    expect((await api.getUpdates({ limit: 2 })).map((u) => u.update_id)).toEqual(ids.slice(0, 2));
    // Without a new offset nothing is confirmed: the same updates come again.
    expect((await api.getUpdates({})).map((u) => u.update_id)).toEqual(ids);
    expect((await api.getUpdates({ offset: (ids[1] ?? 0) + 1 })).map((u) => u.update_id)).toEqual([ids[2]]);
    expect(tg.pendingCount()).toBe(1);
    await expect(api.getUpdates({ offset: (ids[2] ?? 0) + 1 })).resolves.toEqual([]);
    expect(tg.pendingCount()).toBe(0);
    expect(tg.confirmedOffset).toBe((ids[2] ?? 0) + 1);
  });

  it('terminates a held poll with 409 when a second poll arrives', async () => {
    const first = api.getUpdates({ timeout: 10 });
    await tg.waitFor(() => tg.callsOf('getUpdates').length === 1, 2000, 'the first poll');
    const second = api.getUpdates({ timeout: 0 });
    const err = await rejection(first);
    expect(err).toBeInstanceOf(TelegramApiError);
    expect(err).toMatchObject({
      errorCode: 409,
      description: expect.stringContaining('terminated by other getUpdates'),
    });
    await expect(second).resolves.toEqual([]);
  });

  it('drops an aborted held poll and keeps serving', async () => {
    const controller = new AbortController();
    const poll = api.getUpdates({ timeout: 10 }, controller.signal);
    await tg.waitFor(() => tg.callsOf('getUpdates').length === 1, 2000, 'the poll');
    controller.abort();
    await expect(poll).rejects.toThrow();
    tg.pushMessage(9, 'after abort');
    await expect(api.getUpdates({ timeout: 1 })).resolves.toHaveLength(1);
  });

  it('surfaces an injected 429 as TelegramApiError with retryAfter, and a 502 page as NetworkError', async () => {
    tg.failNext('sendMessage', telegramErrors.tooManyRequests(7));
    const err = await rejection(api.sendMessage({ chat_id: 1, text: 'x' }));
    expect(err).toBeInstanceOf(TelegramApiError);
    expect(err).toMatchObject({ errorCode: 429, retryAfter: 7 });
    tg.failNext('sendMessage', telegramErrors.badGateway());
    expect(await rejection(api.sendMessage({ chat_id: 1, text: 'x' }))).toBeInstanceOf(NetworkError);
    await api.sendMessage({ chat_id: 1, text: 'x' });
    expect(tg.sent).toHaveLength(1);
    expect(tg.callsOf('sendMessage').map((c) => c.status)).toEqual([429, 502, 200]);
  });

  it('refuses text over 4096 UTF-16 units, counted after HTML parsing', async () => {
    await expect(api.sendMessage({ chat_id: 1, text: 'a'.repeat(4096) })).resolves.toMatchObject({
      message_id: 1,
    });
    const html = `<b>${'a'.repeat(4090)}</b>&lt;&amp;`;
    await expect(api.sendMessage({ chat_id: 1, text: html, parse_mode: 'HTML' })).resolves.toMatchObject({
      text: `${'a'.repeat(4090)}<&`,
    });
    for (const text of ['a'.repeat(4097), '😀'.repeat(2049)]) {
      const err = await rejection(api.sendMessage({ chat_id: 1, text }));
      expect(err).toMatchObject({ errorCode: 400, description: 'Bad Request: message is too long' });
    }
    const empty = await rejection(api.sendMessage({ chat_id: 1, text: '  ' }));
    expect(empty).toMatchObject({ errorCode: 400, description: 'Bad Request: message text is empty' });
    expect(tg.sentTo(1)).toHaveLength(2);
  });

  it('refuses malformed HTML and, when told to, any formatting', async () => {
    const bad = ['<b>open', '<b>x</i>', 'a <br> b', '1 < 2', 'AT&T', '<span>x</span>', 'x</b>'];
    for (const text of bad) {
      const err = await rejection(api.sendMessage({ chat_id: 3, text, parse_mode: 'HTML' }));
      expect(err).toMatchObject({
        errorCode: 400,
        description: expect.stringContaining("can't parse entities"),
      });
    }
    const good =
      '<b>bold</b> <a href="https://x.y/?a=1&amp;b=2">link</a> <pre><code class="language-ts">1 &gt; 0</code></pre> 2 > 1';
    await api.sendMessage({ chat_id: 3, text: good, parse_mode: 'HTML' });
    tg.rejectFormatting(true);
    const refused = await rejection(api.sendMessage({ chat_id: 3, text: 'plain', parse_mode: 'HTML' }));
    expect(refused).toMatchObject({
      errorCode: 400,
      description:
        "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 0",
    });
    await api.sendMessage({ chat_id: 3, text: 'plain' });
    expect(tg.sentTo(3).map((m) => [m.text, m.parseMode])).toEqual([
      [good, 'HTML'],
      ['plain', undefined],
    ]);
  });

  it('records replies given as reply_parameters and refuses a reply to an unknown message', async () => {
    const incoming = tg.pushMessage(8, 'question').message;
    const messageId = incoming?.message_id ?? 0;
    const answer = await api.sendMessage({
      chat_id: 8,
      text: 'answer',
      reply_parameters: { message_id: messageId },
    });
    expect(answer.reply_to_message?.message_id).toBe(messageId);
    expect(tg.sent[0]).toMatchObject({ chatId: 8, replyToMessageId: messageId, messageId: messageId + 1 });
    const err = await rejection(
      api.sendMessage({ chat_id: 8, text: 'x', reply_parameters: { message_id: 999 } }),
    );
    expect(err).toMatchObject({
      errorCode: 400,
      description: 'Bad Request: message to be replied not found',
    });
    await api.sendMessage({
      chat_id: 8,
      text: 'x',
      reply_parameters: { message_id: 999, allow_sending_without_reply: true },
    });
    expect(tg.sent).toHaveLength(2);
  });

  it('records drafts in private chats and refuses them in groups, like Bot API 9.3+', async () => {
    await expect(api.sendMessageDraft({ chat_id: 5, draft_id: 3, text: 'partial' })).resolves.toBe(true);
    await expect(api.sendMessageDraft({ chat_id: 5, draft_id: 3 })).resolves.toBe(true); // "Thinking…"
    expect(await rejection(api.sendMessageDraft({ chat_id: -5, draft_id: 3, text: 'x' }))).toMatchObject({
      errorCode: 400,
      description: 'Bad Request: TEXTDRAFT_PEER_INVALID',
    });
    expect(await rejection(api.sendMessageDraft({ chat_id: 5, draft_id: 0, text: 'x' }))).toMatchObject({
      errorCode: 400,
    });
    expect(tg.drafts.map((d) => [d.chatId, d.draftId, d.text])).toEqual([
      [5, 3, 'partial'],
      [5, 3, ''],
    ]);
    tg.setMethodUnknown('sendMessageDraft');
    const res = await fetch(`${tg.url}/bot${tg.token}/sendMessageDraft`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chat_id: 5, draft_id: 1, text: 'x' }),
    });
    expect(res.status).toBe(404);
    await expect(res.json()).resolves.toEqual({ ok: false, error_code: 404, description: 'Not Found' });
    tg.failNext('sendMessageDraft', telegramErrors.tooManyRequests(2));
    tg.setMethodUnknown('sendMessageDraft', false);
    expect(await rejection(api.sendMessageDraft({ chat_id: 5, draft_id: 1, text: 'x' }))).toMatchObject({
      errorCode: 429,
      retryAfter: 2,
    });
  });

  it('delivers a button press as Telegram does and answers it exactly once', async () => {
    const card = await api.sendMessage({
      chat_id: 6,
      text: 'Allow?',
      reply_markup: { inline_keyboard: [[{ text: 'Allow', callback_data: 'a:1' }]] },
    });
    expect(card.reply_markup).toEqual({ inline_keyboard: [[{ text: 'Allow', callback_data: 'a:1' }]] });
    tg.pushCallbackQuery(6, 600, card.message_id, 'a:1');
    const [update] = await api.getUpdates({});
    const query = (update as { callback_query?: { id: string } } | undefined)?.callback_query;
    expect(query).toMatchObject({
      from: { id: 600, is_bot: false },
      message: { message_id: card.message_id, chat: { id: 6 }, text: 'Allow?' },
      data: 'a:1',
      chat_instance: expect.any(String),
    });
    await expect(api.answerCallbackQuery({ callback_query_id: query?.id ?? '', text: 'ok' })).resolves.toBe(
      true,
    );
    const tooOld = {
      errorCode: 400,
      description: 'Bad Request: query is too old and response timeout expired or query ID is invalid',
    };
    expect(await rejection(api.answerCallbackQuery({ callback_query_id: query?.id ?? '' }))).toMatchObject(
      tooOld,
    );
    const late = tg.pushCallbackQuery(6, 600, card.message_id, 'a:1').callback_query as { id: string };
    tg.expireCallbackQuery(late.id);
    expect(await rejection(api.answerCallbackQuery({ callback_query_id: late.id }))).toMatchObject(tooOld);
    expect(tg.callbackAnswers).toHaveLength(1);
  });

  it('edits a sent message, refusing an edit that changes nothing and an unknown message', async () => {
    const keyboard = { inline_keyboard: [[{ text: 'Stop', callback_data: 's' }]] };
    const sent = await api.sendMessage({ chat_id: 7, text: 'step 1', reply_markup: keyboard });
    const same = await rejection(
      api.editMessageText({
        chat_id: 7,
        message_id: sent.message_id,
        text: 'step 1',
        reply_markup: keyboard,
      }),
    );
    expect(same).toMatchObject({
      errorCode: 400,
      description:
        'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    });
    await api.editMessageText({ chat_id: 7, message_id: sent.message_id, text: 'step 1' }); // buttons go
    await api.editMessageText({
      chat_id: 7,
      message_id: sent.message_id,
      text: '<b>step 2</b>',
      parse_mode: 'HTML',
    });
    expect(tg.message(7, sent.message_id)).toMatchObject({ text: '<b>step 2</b>', editCount: 2 });
    expect(tg.edits.map((e) => [e.text, e.keyboard])).toEqual([
      ['step 1', undefined],
      ['<b>step 2</b>', undefined],
    ]);
    expect(await rejection(api.editMessageText({ chat_id: 7, message_id: 99, text: 'x' }))).toMatchObject({
      description: 'Bad Request: message to edit not found',
    });
    expect(
      await rejection(
        api.sendMessage({
          chat_id: 7,
          text: 'x',
          reply_markup: { inline_keyboard: [[{ text: 'A', callback_data: 'x'.repeat(65) }]] },
        }),
      ),
    ).toMatchObject({ errorCode: 400, description: 'Bad Request: BUTTON_DATA_INVALID' });
  });

  it('takes a document upload from a multipart form built by fetch itself', async () => {
    const bytes = Buffer.from([0xff, 0x00, 0x0d, 0x0a, 0x2d, 0x2d, 0x41]);
    const form = new FormData();
    form.set('chat_id', '9');
    form.set('caption', 'bin');
    form.set('document', new Blob([bytes], { type: 'application/octet-stream' }), 'data.bin');
    const res = await fetch(`${tg.url}/bot${tg.token}/sendDocument`, { method: 'POST', body: form });
    const body = (await res.json()) as {
      ok: boolean;
      result: { document: { file_name: string; file_size: number } };
    };
    expect(body.result.document).toMatchObject({ file_name: 'data.bin', file_size: bytes.length });
    expect(tg.documents[0]).toMatchObject({
      chatId: 9,
      filename: 'data.bin',
      caption: 'bin',
      size: bytes.length,
    });
    expect(tg.documents[0]?.content.equals(bytes)).toBe(true);
    tg.failNext('sendDocument', telegramErrors.internal());
    const again = await fetch(`${tg.url}/bot${tg.token}/sendDocument`, { method: 'POST', body: form });
    expect(again.status).toBe(500);
  });

  it('keeps the command menu setMyCommands sets and refuses invalid commands', async () => {
    await api.setMyCommands({ commands: [{ command: 'help', description: 'The commands' }] });
    await expect(api.getMyCommands()).resolves.toEqual([{ command: 'help', description: 'The commands' }]);
    for (const command of [
      { command: 'Help', description: 'x' },
      { command: 'a'.repeat(33), description: 'x' },
    ]) {
      expect(await rejection(api.setMyCommands({ commands: [command] }))).toMatchObject({ errorCode: 400 });
    }
    expect(
      await rejection(api.setMyCommands({ commands: [{ command: 'ok', description: 'd'.repeat(257) }] })),
    ).toMatchObject({ errorCode: 400 });
    expect(tg.commands).toEqual([{ command: 'help', description: 'The commands' }]);
  });

  it('delivers a document as Telegram does and serves it through getFile and its download link', async () => {
    const log = Buffer.from('FAIL test/unit/a.test.ts\n  expected 1, got 2\n');
    tg.pushMedia(
      42,
      { document: { data: log, fileName: 'build.log', mimeType: 'text/plain' } },
      { caption: 'why does this fail?' },
    );
    const [update] = await api.getUpdates({});
    const message = messageOf<Record<string, unknown> & { document: { file_id: string } }>(update);
    expect(message).toMatchObject({
      chat: { id: 42, type: 'private' },
      caption: 'why does this fail?',
      document: { file_name: 'build.log', mime_type: 'text/plain', file_size: log.length },
    });
    expect(fieldsOf(message?.document)).toEqual(fieldsOf(recordedMessage('document.json').document));
    expect(message?.document.file_id).toMatch(/^BQAC/);

    const file = await api.getFile({ file_id: message?.document.file_id ?? '' });
    expect(file).toEqual({
      file_id: message?.document.file_id,
      file_unique_id: expect.any(String),
      file_size: log.length,
      file_path: 'documents/file_0.log',
    });
    const res = await fetch(`${tg.url}/file/bot${tg.token}/${file.file_path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(Buffer.from(await res.arrayBuffer()).equals(log)).toBe(true);

    const unknown = await fetch(`${tg.url}/file/bot${tg.token}/documents/file_9.log`);
    expect(unknown.status).toBe(404);
    await expect(unknown.json()).resolves.toEqual({ ok: false, error_code: 404, description: 'Not Found' });
    expect(await rejection(api.getFile({ file_id: 'BQACAgIAAxkBAAIno' }))).toMatchObject({
      errorCode: 400,
      description: 'Bad Request: invalid file_id',
    });
    expect(tg.callsOf('getFile').map((c) => c.status)).toEqual([200, 400]);
    expect(tg.downloads.map((d) => [d.filePath, d.fileId, d.status])).toEqual([
      ['documents/file_0.log', message?.document.file_id, 200],
      ['documents/file_9.log', undefined, 404],
    ]);
  });

  it('refuses getFile over 20 MB with the Bot API sentence, and a local server has no limit', async () => {
    const big = tg.pushMedia(1, {
      document: { data: 'head of a big file', fileName: 'dump.bin', declaredSize: 25 * 1024 * 1024 },
    }).message as unknown as { document: { file_id: string; file_size: number } };
    expect(big.document.file_size).toBe(25 * 1024 * 1024);
    expect(await rejection(api.getFile({ file_id: big.document.file_id }))).toMatchObject({
      errorCode: 400,
      description: 'Bad Request: file is too big',
    });
    // the limit is 20 MiB itself, inclusive
    const edge = tg.pushMedia(1, { document: { data: 'x', declaredSize: 20 * 1024 * 1024 } })
      .message as unknown as {
      document: { file_id: string };
    };
    await expect(api.getFile({ file_id: edge.document.file_id })).resolves.toMatchObject({
      file_path: 'documents/file_0',
    });

    const workingDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-bot-api-'));
    const local = await startFakeTelegram({ local: { workingDir } });
    try {
      const localApi = new Api(local.token, { apiRoot: local.url, maxRetries: 0 });
      const sent = local.pushMedia(1, {
        document: { data: 'head of a big file', fileName: 'dump.bin', declaredSize: 25 * 1024 * 1024 },
      }).message as unknown as { document: { file_id: string } };
      const file = await localApi.getFile({ file_id: sent.document.file_id });
      // "Receive the absolute local path as a value of the file_path field"
      expect(file.file_path).toBe(path.join(workingDir, local.token, 'documents', 'file_0.bin'));
      expect(fs.readFileSync(file.file_path ?? '', 'utf8')).toBe('head of a big file');
      const res = await fetch(`${local.url}/file/bot${local.token}/documents/file_0.bin`);
      expect(res.status).toBe(404);
    } finally {
      await local.close();
      fs.rmSync(workingDir, { recursive: true, force: true });
    }
  });

  it('lets a download link expire and gives a live one on the next getFile', async () => {
    const voice = tg.pushMedia(3, { voice: { data: Buffer.from('OggS voice'), duration: 2 } })
      .message as unknown as {
      voice: { file_id: string };
    };
    const { file_path: filePath } = await api.getFile({ file_id: voice.voice.file_id });
    expect(filePath).toBe('voice/file_0.oga');
    const link = `${tg.url}/file/bot${tg.token}/${filePath}`;
    expect((await fetch(link)).status).toBe(200);
    tg.expireFileLinks();
    expect((await fetch(link)).status).toBe(404);
    await expect(api.getFile({ file_id: voice.voice.file_id })).resolves.toMatchObject({
      file_path: filePath,
    });
    expect((await fetch(link)).status).toBe(200);
    expect(tg.downloads.map((d) => d.status)).toEqual([200, 404, 200]);
    // a wrong token is no link at all, and injected failures reach the download route too
    expect((await fetch(`${tg.url}/file/bot42:wrong/${filePath}`)).status).toBe(404);
    tg.failNext(FILE_DOWNLOAD, telegramErrors.badGateway());
    expect((await fetch(link)).status).toBe(502);

    const shortLived = await startFakeTelegram({ fileLinkTtlMs: 0 });
    try {
      const sent = shortLived.pushMedia(3, { voice: { data: 'OggS' } }).message as unknown as {
        voice: { file_id: string };
      };
      const shortApi = new Api(shortLived.token, { apiRoot: shortLived.url, maxRetries: 0 });
      const file = await shortApi.getFile({ file_id: sent.voice.file_id });
      const res = await fetch(`${shortLived.url}/file/bot${shortLived.token}/${file.file_path}`);
      expect(res.status).toBe(404);
    } finally {
      await shortLived.close();
    }
  });

  it('sends photos, voice, video notes, audio, video and album parts with the fields Telegram sends', async () => {
    const sizes = [
      { data: Buffer.alloc(90, 1), width: 90, height: 51 },
      { data: Buffer.alloc(320, 2), width: 320, height: 180 },
      { data: Buffer.alloc(800, 3), width: 800, height: 451 },
    ];
    const album = '13443011608618786';
    tg.pushMedia(5, { photo: sizes }, { caption: 'the error', mediaGroupId: album });
    tg.pushMedia(5, { photo: sizes.slice(0, 2) }, { mediaGroupId: album });
    tg.pushMedia(5, { voice: { data: 'OggS', duration: 3 } });
    tg.pushMedia(5, { video_note: { data: 'mp4', duration: 4 } });
    tg.pushMedia(5, { audio: { data: 'ID3', fileName: 'talk.mp3', duration: 60, title: 'Talk' } });
    tg.pushMedia(5, { video: { data: 'mp4', fileName: 'screen.mp4', duration: 9 } });
    const messages = (await api.getUpdates({})).map((u) => messageOf(u));
    const [first, second, voice, note, audio, video] = messages;

    const photo = first?.photo as { file_id: string; file_size: number; width: number }[];
    expect(photo.map((p) => [p.width, p.file_size])).toEqual([
      [90, 90],
      [320, 320],
      [800, 800],
    ]);
    expect(new Set(photo.map((p) => p.file_id)).size).toBe(3);
    const recordedAlbum = recordedMessage('media-group-part.json');
    expect(fieldsOf(photo[0])).toEqual(fieldsOf((recordedAlbum.photo as unknown[])[0]));
    expect(first).toMatchObject({ media_group_id: album, caption: 'the error' });
    expect(second).toMatchObject({ media_group_id: album });
    expect(second).not.toHaveProperty('caption');

    expect(voice?.voice).toMatchObject({ duration: 3, mime_type: 'audio/ogg', file_size: 4 });
    expect(fieldsOf(voice?.voice)).toEqual(fieldsOf(recordedMessage('voice.json').voice));
    expect(fieldsOf(note?.video_note)).toEqual(fieldsOf(recordedMessage('video-note.json').video_note));
    expect(audio?.audio).toMatchObject({ file_name: 'talk.mp3', mime_type: 'audio/mpeg', duration: 60 });
    expect(video?.video).toMatchObject({ file_name: 'screen.mp4', mime_type: 'video/mp4', duration: 9 });

    const largest = photo.at(-1)?.file_id ?? '';
    await expect(api.getFile({ file_id: largest })).resolves.toMatchObject({
      file_path: 'photos/file_0.jpg',
    });
    const noteId = (note?.video_note as { file_id: string }).file_id;
    await expect(api.getFile({ file_id: noteId })).resolves.toMatchObject({
      file_path: 'video_notes/file_0.mp4',
    });
    const res = await fetch(`${tg.url}/file/bot${tg.token}/photos/file_0.jpg`);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await res.arrayBuffer()).equals(sizes[2]?.data ?? Buffer.alloc(0))).toBe(true);
    expect(tg.files).toHaveLength(3 + 2 + 4);
  });

  it('names what it waited for when waitFor times out', async () => {
    await expect(tg.waitForSent(1, 50)).rejects.toThrow(/1 sent message\(s\).*sent=0/);
  });
});

describe('fake OpenAI with the openai SDK', () => {
  const apiKey = 'sk-test-0123456789abcdef';
  let ai: FakeOpenAI;
  let client: OpenAI;

  beforeEach(async () => {
    ai = await startFakeOpenAI({ apiKey });
    client = new OpenAI({ apiKey, baseURL: `${ai.url}/v1`, maxRetries: 0 });
  });
  afterEach(() => ai.close());

  const ask = (text: string) =>
    client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] });

  it('echoes the last user message in the real response shape and records the request', async () => {
    const completion = await ask('hi there');
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'echo: hi there', refusal: null },
          finish_reason: 'stop',
        },
      ],
    });
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    expect(ai.requests[0]?.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(ai.requestsFor((body) => body.model === 'gpt-4o-mini')).toHaveLength(1);
  });

  it('streams the same answer when asked to', async () => {
    ai.setReply(() => 'one two three');
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('one two three');
  });

  it("streams scripted tool calls the way the SDK's own stream helper assembles them, usage last", async () => {
    ai.script([
      { content: 'Checking.', toolCalls: [{ name: 'bash', arguments: { command: 'ls -la' }, id: 'call_1' }] },
      'done',
    ]);
    const tools = [{ type: 'function' as const, function: { name: 'bash', parameters: { type: 'object' } } }];
    const runner = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'list' }],
      tools,
      stream_options: { include_usage: true },
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        content: 'Checking.',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'bash', arguments: '{"command":"ls -la"}' } },
        ],
      },
    });
    expect(final.usage?.prompt_tokens).toBe(ai.requests[0]?.response?.usage.promptTokens);
    const second = await ask('next');
    expect(second.choices[0]?.message.content).toBe('done');
    expect(await rejection(ask('one too many'))).toBeInstanceOf(InternalServerError);
  });

  it('refuses a tool message that answers no call, and a call left unanswered, like the API', async () => {
    const orphan = await rejection(
      client.chat.completions.create({
        model: 'm',
        messages: [
          { role: 'user', content: 'x' },
          { role: 'tool', tool_call_id: 'call_9', content: 'r' },
        ],
      }),
    );
    expect(orphan).toBeInstanceOf(BadRequestError);
    expect((orphan as Error).message).toContain("messages with role 'tool' must be a response");
    const unanswered = await rejection(
      client.chat.completions.create({
        model: 'm',
        messages: [
          { role: 'user', content: 'x' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_7', type: 'function', function: { name: 'ls', arguments: '{}' } }],
          },
        ],
      }),
    );
    expect((unanswered as Error).message).toContain('did not have response messages: call_7');
  });

  it('cuts streamed text into chunks of the configured size and can fail in the middle', async () => {
    ai.setReply(() => 'abcdefghij');
    ai.setStreaming({ chunkSize: 3 });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const pieces: string[] = [];
    for await (const chunk of stream)
      if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
    expect(pieces).toEqual(['abc', 'def', 'ghi', 'j']);
    ai.failNext({ streamError: { message: 'boom' }, afterChunks: 1 });
    const failing = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const got: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const chunk of failing) got.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    );
    expect(err).toMatchObject({ message: 'boom' });
    expect(got.join('')).toBe('abc');
  });

  it('surfaces a 429 as RateLimitError with the Retry-After header', async () => {
    ai.failNext(openAIErrors.rateLimit('requests', 3));
    const err = await rejection(ask('x'));
    expect(err).toBeInstanceOf(RateLimitError);
    const rateLimit = err as RateLimitError;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.headers?.get('retry-after')).toBe('3');
    expect(rateLimit).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
    await expect(ask('again')).resolves.toBeDefined();
  });

  it('transcribes a file the SDK uploads as a multipart form, and records what it got', async () => {
    const audio = Buffer.from([0x4f, 0x67, 0x67, 0x53, 0x00, 0x02, 0x0d, 0x0a, 0x2d, 0x2d]);
    ai.scriptTranscripts([
      'check why the tests fail on main',
      { text: 'second', usage: { type: 'duration', seconds: 2 } },
    ]);
    const transcription = await client.audio.transcriptions.create({
      file: await toFile(audio, 'voice.ogg'),
      model: 'gpt-4o-mini-transcribe',
    });
    expect(transcription).toEqual({
      text: 'check why the tests fail on main',
      usage: {
        type: 'tokens',
        input_tokens: 1,
        input_token_details: { text_tokens: 0, audio_tokens: 1 },
        output_tokens: expect.any(Number),
        total_tokens: expect.any(Number),
      },
    });
    const text = await client.audio.transcriptions.create({
      file: await toFile(audio, 'voice.oga', { type: 'audio/ogg' }),
      model: 'whisper-1',
      response_format: 'text',
    });
    expect(text).toBe('second\n');
    expect(ai.transcriptions.map((t) => [t.model, t.fileName, t.size, t.status, t.text])).toEqual([
      ['gpt-4o-mini-transcribe', 'voice.ogg', audio.length, 200, 'check why the tests fail on main'],
      ['whisper-1', 'voice.oga', audio.length, 200, 'second'],
    ]);
    expect(ai.transcriptions[0]?.data.equals(audio)).toBe(true);
    expect(ai.transcriptions[1]).toMatchObject({
      mimeType: 'audio/ogg',
      fields: { response_format: 'text' },
    });
    expect(ai.requests).toHaveLength(0);
    expect(
      await rejection(client.audio.transcriptions.create({ file: await toFile(audio, 'v.ogg'), model: 'm' })),
    ).toBeInstanceOf(InternalServerError);
  });

  it('refuses transcriptions like the API does: key, form, format, size', async () => {
    const file = async (name = 'voice.ogg', bytes: Buffer = Buffer.from('OggS')) => toFile(bytes, name);
    const wrong = new OpenAI({ apiKey: 'sk-wrong-key-abcdefghijkl', baseURL: `${ai.url}/v1`, maxRetries: 0 });
    const unauthorized = await rejection(
      wrong.audio.transcriptions.create({ file: await file(), model: 'gpt-4o-mini-transcribe' }),
    );
    expect(unauthorized).toBeInstanceOf(AuthenticationError);

    const form = new FormData();
    form.set('file', new Blob([Buffer.from('OggS')], { type: 'audio/ogg' }), 'voice.ogg');
    const noModel = await fetch(ai.transcriptionsUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}` },
      body: form,
    });
    expect(noModel.status).toBe(400);
    await expect(noModel.json()).resolves.toEqual({
      error: {
        message: '1 validation error for Request\nbody -> model\n  field required (type=value_error.missing)',
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });

    const verbose = await rejection(
      client.audio.transcriptions.create({
        file: await file(),
        model: 'gpt-4o-mini-transcribe',
        response_format: 'verbose_json',
      }),
    );
    expect(verbose).toBeInstanceOf(BadRequestError);
    expect(verbose).toMatchObject({ code: 'unsupported_value', param: 'response_format' });

    const text = await rejection(
      client.audio.transcriptions.create({ file: await file('notes.txt'), model: 'gpt-4o-mini-transcribe' }),
    );
    expect((text as Error).message).toBe(
      "400 Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']",
    );
    const empty = await rejection(
      client.audio.transcriptions.create({ file: await file('v.ogg', Buffer.alloc(0)), model: 'whisper-1' }),
    );
    expect(empty).toMatchObject({ status: 400, code: 'audio_too_short', param: 'file' });

    const tooBig = await rejection(
      client.audio.transcriptions.create({
        file: await file('long.mp3', Buffer.alloc(25 * 1024 * 1024 + 1)),
        model: 'whisper-1',
      }),
    );
    expect(tooBig).toMatchObject({ status: 413, type: 'server_error' });
    expect((tooBig as Error).message).toMatch(
      /^413 Maximum content size limit \(26214400\) exceeded \(\d+ bytes read\)$/,
    );
    expect(ai.transcriptions.map((t) => t.status)).toEqual([401, 400, 400, 400, 400, 413]);
  });

  it('fails or hangs the next transcriptions when told to, leaving chat requests alone', async () => {
    const create = async (timeout?: number) =>
      client.audio.transcriptions.create(
        { file: await toFile(Buffer.from('OggS'), 'voice.ogg'), model: 'gpt-4o-mini-transcribe' },
        timeout === undefined ? undefined : { timeout },
      );
    ai.failNextTranscription(openAIErrors.rateLimit('requests', 4));
    await expect(ask('chat is not affected')).resolves.toBeDefined();
    const limited = await rejection(create());
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).headers?.get('retry-after')).toBe('4');
    ai.failNextTranscription({ hang: true });
    // the client gives up on its timeout (under jest the SDK reports it as a plain connection error)
    expect(await rejection(create(200))).toBeInstanceOf(APIConnectionError);
    await expect(create()).resolves.toMatchObject({ text: expect.stringContaining('transcript of') });
    expect(ai.transcriptions.map((t) => t.status)).toEqual([429, undefined, 200]);
  });

  it('refuses a wrong key with the real 401 body', async () => {
    const wrong = new OpenAI({ apiKey: 'sk-wrong-key-abcdefghijkl', baseURL: `${ai.url}/v1`, maxRetries: 0 });
    const err = await rejection(
      wrong.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({
      status: 401,
      code: 'invalid_api_key',
      type: 'invalid_request_error',
      param: null,
    });
    expect((err as Error).message).toMatch(/^401 Incorrect API key provided: sk-wro\*+ijkl\./);
  });

  it('fails matching requests while a failWhen rule stands, and context overflows as 400', async () => {
    const stop = ai.failWhen(
      (req) => JSON.stringify(req.messages).includes('FAIL500'),
      openAIErrors.serverError(),
    );
    expect(await rejection(ask('please FAIL500'))).toBeInstanceOf(InternalServerError);
    await expect(ask('fine')).resolves.toBeDefined();
    stop();
    await expect(ask('FAIL500 now passes')).resolves.toBeDefined();
    ai.failNext(openAIErrors.contextLengthExceeded());
    const err = await rejection(ask('long'));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err).toMatchObject({ code: 'context_length_exceeded', param: 'messages' });
  });
});

describe('temp database', () => {
  it('opens a migrated database in its own folder and removes it', () => {
    const db = openTempDb();
    const tables = db.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string;
    }[];
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['inbox', 'kv', 'history']));
    db.close();
    removeTempDir(db.dir);
    expect(fs.existsSync(db.dir)).toBe(false);
  });
});

describe('PM2 sandbox', () => {
  const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-test-')), 'tick.js');
  let sandbox: Pm2Sandbox | undefined;

  beforeAll(() => fs.writeFileSync(script, 'setInterval(() => console.log("tick"), 200);\n'));
  afterAll(async () => {
    await sandbox?.kill();
    fs.rmSync(path.dirname(script), { recursive: true, force: true });
  });

  it('restarts a killed app and leaves no daemon behind', async () => {
    sandbox = await startPm2Sandbox({ env: {}, only: [] });
    await sandbox.pm2(['start', script, '--name', 'tick']);
    const first = await sandbox.waitOnline('tick');
    await sandbox.killProcess('tick');
    const [restarted] = await sandbox.waitFor(
      (ps) => ps.some((p) => p.name === 'tick' && p.status === 'online' && p.pid !== first.pid),
      10000,
      'tick restarted',
    );
    expect(restarted?.restart_time).toBe(1);
    await sandbox.waitFor(() => sandbox?.logs('tick').out.includes('tick') ?? false, 5000, 'tick in the log');
    const daemonPid = Number(fs.readFileSync(path.join(sandbox.home, 'pm2.pid'), 'utf8'));
    await sandbox.kill();
    expect(isProcessAlive(daemonPid)).toBe(false);
    expect(isProcessAlive(restarted?.pid ?? 0)).toBe(false);
    expect(fs.existsSync(sandbox.home)).toBe(false);
  });

  it('reaps a sandbox that was never killed, as the globalTeardown does', async () => {
    const orphan = await startPm2Sandbox({ env: {}, only: [] });
    await orphan.pm2(['start', script, '--name', 'tick']);
    const { pid } = await orphan.waitOnline('tick');
    const daemonPid = Number(fs.readFileSync(path.join(orphan.home, 'pm2.pid'), 'utf8'));
    expect(reapSandboxes(process.pid)).toBeGreaterThanOrEqual(1);
    expect(isProcessAlive(daemonPid)).toBe(false);
    expect(isProcessAlive(pid)).toBe(false);
    expect(fs.existsSync(orphan.home)).toBe(false);
    await orphan.kill(); // nothing left to do, must not throw
  });
});
