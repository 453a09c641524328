/**
 * The Telegram port (src/worker/telegram/) against the fake Bot API: what the handlers of
 * streaming, status messages, approvals and send_file rely on, with the errors classified.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TelegramClient } from '../../src/worker/telegram/client';
import {
  BUTTON_DATA_INVALID,
  DRAFTS_UNSUPPORTED,
  FILE_TOO_BIG,
  QUERY_TOO_OLD,
  classifyTelegramError,
} from '../../src/worker/telegram/failures';
import { TELEGRAM_UPLOAD_LIMIT_BYTES } from '../../src/worker/telegram/uploads';
import { startFakeTelegram, telegramErrors, type FakeTelegram } from '../helpers/fake-telegram';
import { edgeError } from '../helpers/edge-error';

describe('Telegram port', () => {
  let tg: FakeTelegram;
  let client: TelegramClient;
  let dir: string;

  beforeEach(async () => {
    tg = await startFakeTelegram();
    client = new TelegramClient(tg.token, tg.url, 5000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-tg-port-'));
  });
  afterEach(async () => {
    await tg.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends drafts to a private chat, replacing each other under one draft id', async () => {
    await client.sendMessageDraft(42, 7, 'Hel');
    await client.sendMessageDraft(42, 7, 'Hello <b>wor</b>', { html: true });
    expect(tg.drafts.map((d) => [d.chatId, d.draftId, d.text, d.parseMode])).toEqual([
      [42, 7, 'Hel', undefined],
      [42, 7, 'Hello <b>wor</b>', 'HTML'],
    ]);
    expect(tg.sent).toHaveLength(0); // a draft leaves no message behind
  });

  it('classifies a draft refused in a group and an unknown draft method as drafts_unsupported, never fatal', async () => {
    const group = await edgeError(client.sendMessageDraft(-100123, 1, 'x'));
    expect(group).toMatchObject({ errorClass: 'permanent', code: DRAFTS_UNSUPPORTED });
    expect(group.message).toContain('TEXTDRAFT_PEER_INVALID');

    tg.setMethodUnknown('sendMessageDraft');
    const unknown = await edgeError(client.sendMessageDraft(42, 1, 'x'));
    expect(unknown).toMatchObject({ errorClass: 'permanent', code: DRAFTS_UNSUPPORTED });
    expect(tg.callsOf('sendMessageDraft').map((c) => c.status)).toEqual([400, 404]);
    // the same 404 on another method still means a bad token
    expect(classifyTelegramError(unknown, 'getMe')).toBe(unknown);
    tg.setMethodUnknown('getMe');
    expect(await edgeError(client.getMe())).toMatchObject({ errorClass: 'fatal', code: '404' });
  });

  it('classifies a 429 on a draft as transient with retryAfterMs', async () => {
    tg.failNext('sendMessageDraft', telegramErrors.tooManyRequests(3));
    const err = await edgeError(client.sendMessageDraft(42, 1, 'x'));
    expect(err).toMatchObject({ errorClass: 'transient', code: '429', retryAfterMs: 3000 });
    await client.sendMessageDraft(42, 1, 'x');
    expect(tg.drafts).toHaveLength(1);
  });

  it('sends a message with inline buttons and refuses callback_data over 64 bytes before sending', async () => {
    const id = await client.sendMessage(42, 'Run `ls`?', {
      html: false,
      keyboard: [
        [
          { text: 'Allow once', callbackData: 'ap:1:once' },
          { text: 'Deny', callbackData: 'ap:1:deny' },
        ],
        [{ text: 'Docs', url: 'https://example.org/' }],
      ],
    });
    expect(tg.message(42, id)?.keyboard).toEqual([
      [
        { text: 'Allow once', callback_data: 'ap:1:once' },
        { text: 'Deny', callback_data: 'ap:1:deny' },
      ],
      [{ text: 'Docs', url: 'https://example.org/' }],
    ]);

    const calls = tg.calls.length;
    const tooLong = await edgeError(
      client.sendMessage(42, 'x', { html: false, keyboard: [[{ text: 'A', callbackData: 'é'.repeat(33) }]] }),
    );
    expect(tooLong).toMatchObject({ errorClass: 'permanent', code: BUTTON_DATA_INVALID });
    expect(tooLong.message).toMatch(/66 bytes.*1 to 64/);
    expect(tg.calls).toHaveLength(calls); // nothing reached Telegram
    // exactly 64 bytes is allowed
    await client.sendMessage(42, 'y', {
      html: false,
      keyboard: [[{ text: 'A', callbackData: 'x'.repeat(64) }]],
    });
  });

  it('edits a message in place, treats "not modified" as success, and drops buttons when none are given', async () => {
    const id = await client.sendMessage(42, '→ read a.ts', {
      html: false,
      keyboard: [[{ text: 'Stop', callbackData: 'stop' }]],
    });
    await expect(
      client.editMessageText(42, id, '→ read a.ts', { keyboard: [[{ text: 'Stop', callbackData: 'stop' }]] }),
    ).resolves.toBe(false);
    await expect(client.editMessageText(42, id, '✓ <b>done</b>', { html: true })).resolves.toBe(true);
    expect(tg.message(42, id)).toMatchObject({ text: '✓ <b>done</b>', parseMode: 'HTML', editCount: 1 });
    expect(tg.message(42, id)?.keyboard).toBeUndefined();
    expect(tg.edits).toHaveLength(1);
    expect(tg.callsOf('editMessageText').map((c) => c.status)).toEqual([400, 200]);

    const missing = await edgeError(client.editMessageText(42, 999, 'x'));
    expect(missing).toMatchObject({ errorClass: 'permanent', code: '400' });
    expect(missing.message).toContain('message to edit not found');
  });

  it('answers a button press once; a second answer or an unknown id is too old, permanently', async () => {
    const id = await client.sendMessage(42, 'card', {
      html: false,
      keyboard: [[{ text: 'Allow', callbackData: 'ap:9:once' }]],
    });
    const update = tg.pushCallbackQuery(42, 42, id, 'ap:9:once');
    const [received] = await client.getUpdates(undefined, 0);
    expect(received).toEqual(update);
    const query = update.callback_query as { id: string; data: string; message: { message_id: number } };
    expect(query).toMatchObject({ data: 'ap:9:once', from: { id: 42 }, message: { message_id: id } });

    await client.answerCallbackQuery(query.id, 'Allowed once');
    expect(tg.callbackAnswers).toEqual([
      { callbackQueryId: query.id, text: 'Allowed once', showAlert: false, at: expect.any(Number) },
    ]);
    const again = await edgeError(client.answerCallbackQuery(query.id));
    expect(again).toMatchObject({ errorClass: 'permanent', code: QUERY_TOO_OLD });
    expect(await edgeError(client.answerCallbackQuery('123', 'x', true))).toMatchObject({
      code: QUERY_TOO_OLD,
    });
  });

  it('uploads a document from disk and from memory, with caption and reply', async () => {
    const file = path.join(dir, 'report.bin');
    const bytes = Buffer.from([0, 1, 2, 255, 13, 10, 45, 45, 0x80]);
    fs.writeFileSync(file, bytes);
    const question = tg.pushMessage(42, 'send me the report').message?.message_id ?? 0;
    const first = await client.sendDocument(42, { path: file }, 'the report', question);
    await client.sendDocument(42, { buffer: Buffer.from('diff --git a b\n'), filename: 'run.diff' });
    expect(tg.documents.map((d) => [d.messageId, d.filename, d.size, d.caption, d.replyToMessageId])).toEqual(
      [
        [first, 'report.bin', bytes.length, 'the report', question],
        [first + 1, 'run.diff', 15, undefined, undefined],
      ],
    );
    expect(tg.documents[0]?.content.equals(bytes)).toBe(true);
    expect(tg.documents[1]?.content.toString()).toBe('diff --git a b\n');
  });

  it('refuses a file over 50 MB before uploading it, and a missing file clearly', async () => {
    const big = path.join(dir, 'big.iso');
    fs.closeSync(fs.openSync(big, 'w'));
    fs.truncateSync(big, TELEGRAM_UPLOAD_LIMIT_BYTES + 1); // sparse: nothing is written or read
    const err = await edgeError(client.sendDocument(42, { path: big }));
    expect(err).toMatchObject({ errorClass: 'permanent', code: FILE_TOO_BIG });
    expect(err.message).toMatch(/big\.iso is 50\.0 MB; Telegram takes files up to 50 MB/);
    const missing = await edgeError(client.sendDocument(42, { path: path.join(dir, 'nope.txt') }));
    expect(missing).toMatchObject({ errorClass: 'permanent', code: 'file_unreadable' });
    expect(tg.callsOf('sendDocument')).toHaveLength(0);
  });

  it('sets the command menu; an invalid command name is refused permanently', async () => {
    await client.setMyCommands([
      { command: 'stop', description: 'Stop the answer in flight' },
      { command: 'new', description: 'Start a fresh conversation' },
    ]);
    expect(tg.commands).toEqual([
      { command: 'stop', description: 'Stop the answer in flight' },
      { command: 'new', description: 'Start a fresh conversation' },
    ]);
    const err = await edgeError(client.setMyCommands([{ command: 'Bad-Name', description: 'x' }]));
    expect(err).toMatchObject({ errorClass: 'permanent', code: '400' });
    expect(err.message).toContain('BOT_COMMAND_INVALID');
  });

  it('fails the new methods on injected failures like the old ones', async () => {
    tg.failNext('editMessageText', telegramErrors.internal());
    tg.failNext('sendDocument', telegramErrors.badGateway());
    tg.failNext('answerCallbackQuery', telegramErrors.blocked());
    const id = await client.sendMessage(42, 'a', { html: false });
    expect(await edgeError(client.editMessageText(42, id, 'b'))).toMatchObject({ errorClass: 'transient' });
    expect(
      await edgeError(client.sendDocument(42, { buffer: Buffer.from('x'), filename: 'x' })),
    ).toMatchObject({
      errorClass: 'transient',
      code: 'network',
    });
    expect(await edgeError(client.answerCallbackQuery('1'))).toMatchObject({
      errorClass: 'permanent',
      code: '403',
    });
    await expect(client.getMe()).resolves.toMatchObject({ id: tg.bot.id });
  });
});
