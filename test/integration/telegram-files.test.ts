/**
 * Files through the Telegram port against the fake Bot API: getFile and the download of what users
 * send (from the file server or a local Bot API server's disk), photos the bot sends, and the choice
 * between photo and document, each failure classified so that it decides the item's fate.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EdgeError } from '../../src/worker/errors';
import { TELEGRAM_PHOTO_LIMIT_BYTES, TelegramClient } from '../../src/worker/telegram/client';
import {
  FILE_LINK_EXPIRED,
  FILE_TOO_BIG,
  FILE_UNREADABLE,
  PHOTO_REFUSED,
  TelegramError,
} from '../../src/worker/telegram/failures';
import { downloadFile, readsLocalPaths } from '../../src/worker/telegram/files';
import { sendFileToChat } from '../../src/worker/telegram/send-file';
import { edgeError } from '../helpers/edge-error';
import {
  FILE_DOWNLOAD,
  startFakeTelegram,
  telegramErrors,
  type FakeTelegram,
  type Update,
} from '../helpers/fake-telegram';

const MB = 1024 * 1024;

/** The smallest header a PNG decoder (and the fake) reads: signature and IHDR with the size. */
function png(width: number, height: number, extra = 0): Buffer {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write('IHDR', 4, 'latin1');
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    ihdr,
    Buffer.alloc(extra),
  ]);
}

/** The file_id of the file a pushed message carries (the largest size of a photo). */
function fileIdOf(update: Update): string {
  const message = update.message;
  const id = message?.document?.file_id ?? message?.photo?.at(-1)?.file_id ?? message?.voice?.file_id;
  if (!id) throw new Error('the update carries no file');
  return id;
}

/** A TelegramError the promise rejects with (fails the test otherwise). */
async function telegramError(promise: Promise<unknown>): Promise<TelegramError> {
  const err = await edgeError(promise);
  if (!(err instanceof TelegramError)) throw err;
  return err;
}

describe('Telegram files', () => {
  let tg: FakeTelegram;
  let client: TelegramClient;
  let dir: string;

  beforeEach(async () => {
    tg = await startFakeTelegram();
    client = new TelegramClient(tg.token, tg.url, 5000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-tg-files-'));
  });
  afterEach(async () => {
    await tg.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('downloads a document and the largest size of a photo, byte for byte', async () => {
    const log = Buffer.from('FAIL test/a.test.ts\n\u0000\u00ff binary tail');
    const document = tg.pushMedia(42, { document: { data: log, fileName: 'build.log' } });
    const file = await client.getFile(fileIdOf(document));
    expect(file).toEqual({ filePath: 'documents/file_0.log', size: log.length });
    expect((await client.downloadFile(file.filePath, MB)).equals(log)).toBe(true);

    const small = png(90, 68, 10);
    const large = png(1280, 960, 4000);
    const photo = tg.pushMedia(42, {
      photo: [
        { data: small, width: 90, height: 68 },
        { data: large, width: 1280, height: 960 },
      ],
    });
    const largest = await client.getFile(fileIdOf(photo));
    expect(largest).toEqual({ filePath: 'photos/file_0.jpg', size: large.length });
    expect((await client.downloadFile(largest.filePath, MB)).equals(large)).toBe(true);
    expect(tg.downloads.map((d) => d.status)).toEqual([200, 200]);
  });

  it('reads the absolute path a local Bot API server answers from its disk', async () => {
    const local = await startFakeTelegram({ local: { workingDir: dir } });
    try {
      const localClient = new TelegramClient(local.token, local.url, 5000);
      const data = Buffer.from('a dump larger than the Bot API would give: only its head here');
      const update = local.pushMedia(1, { document: { data, fileName: 'dump.bin', declaredSize: 25 * MB } });
      const file = await localClient.getFile(fileIdOf(update));
      expect(path.isAbsolute(file.filePath)).toBe(true);
      expect(file.size).toBe(25 * MB);
      expect((await localClient.downloadFile(file.filePath, MB)).equals(data)).toBe(true);
      expect(local.downloads).toHaveLength(0); // nothing was asked of /file/

      const tooSmall = await telegramError(localClient.downloadFile(file.filePath, 10));
      expect(tooSmall).toMatchObject({ failure: FILE_TOO_BIG, errorClass: 'permanent' });
    } finally {
      await local.close();
    }
  });

  it('refuses a local path that is missing, a symbolic link or no regular file, permanently', async () => {
    const real = path.join(dir, 'real.bin');
    fs.writeFileSync(real, 'secret elsewhere');
    const link = path.join(dir, 'link.bin');
    fs.symlinkSync(real, link);
    for (const target of [path.join(dir, 'gone.bin'), link, dir]) {
      const err = await telegramError(client.downloadFile(target, MB));
      expect(err).toMatchObject({ failure: FILE_UNREADABLE, errorClass: 'permanent' });
    }
  });

  it('fails an expired link as transient, and a new getFile gives a link that works', async () => {
    const update = tg.pushMedia(3, { voice: { data: Buffer.from('OggS voice') } });
    const { filePath } = await client.getFile(fileIdOf(update));
    tg.expireFileLinks();
    const expired = await telegramError(client.downloadFile(filePath, MB));
    expect(expired).toMatchObject({ failure: FILE_LINK_EXPIRED, errorClass: 'transient' });

    const renewed = await client.getFile(fileIdOf(update));
    expect((await client.downloadFile(renewed.filePath, MB)).toString()).toBe('OggS voice');
  });

  it('fails getFile of a file over 20 MB and of an unknown file_id permanently', async () => {
    const big = tg.pushMedia(1, { document: { data: 'head', fileName: 'big.zip', declaredSize: 25 * MB } });
    const tooBig = await telegramError(client.getFile(fileIdOf(big)));
    expect(tooBig).toMatchObject({ failure: FILE_TOO_BIG, errorClass: 'permanent' });
    const unknown = await telegramError(client.getFile('BQACAgIAAxkBAAIno'));
    expect(unknown).toMatchObject({ failure: 'refused', errorClass: 'permanent', code: '400' });
    expect(unknown.message).toContain('invalid file_id');
  });

  it('fails a download over maxBytes permanently, before reading it', async () => {
    const update = tg.pushMedia(1, { document: { data: Buffer.alloc(4096, 7), fileName: 'a.bin' } });
    const { filePath } = await client.getFile(fileIdOf(update));
    const err = await telegramError(client.downloadFile(filePath, 1000));
    expect(err).toMatchObject({ failure: FILE_TOO_BIG, errorClass: 'permanent' });
    expect(err.message).toContain('documents/file_0.bin');
    expect((await client.downloadFile(filePath, 4096)).length).toBe(4096); // the limit itself is allowed
  });

  it('stops reading a download without content-length once it passes maxBytes', async () => {
    let written = 0;
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked: no length
      // 8 MB in all unless the client hangs up first
      const timer = setInterval(() => {
        written += 64 * 1024;
        if (written < 8 * MB) res.write(Buffer.alloc(64 * 1024));
        else res.end();
      }, 1);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const streaming = new TelegramClient(tg.token, `http://127.0.0.1:${port}`, 5000);
      const err = await telegramError(streaming.downloadFile('documents/endless.bin', 200 * 1024));
      expect(err).toMatchObject({ failure: FILE_TOO_BIG, errorClass: 'permanent' });
      expect(written).toBeLessThan(8 * MB);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('fails a 502, a timeout and a refused connection on download as transient', async () => {
    const update = tg.pushMedia(1, { document: { data: 'x', fileName: 'a.txt' } });
    const { filePath } = await client.getFile(fileIdOf(update));

    tg.failNext(FILE_DOWNLOAD, telegramErrors.badGateway());
    const badGateway = await telegramError(client.downloadFile(filePath, MB));
    expect(badGateway).toMatchObject({ failure: 'server_error', errorClass: 'transient', code: '502' });

    const impatient = new TelegramClient(tg.token, tg.url, 200);
    tg.failNext(FILE_DOWNLOAD, { hang: true });
    const timedOut = await telegramError(impatient.downloadFile(filePath, MB));
    expect(timedOut).toMatchObject({ failure: 'timeout', errorClass: 'transient' });

    const closed = await startFakeTelegram();
    const nowhere = new TelegramClient(tg.token, closed.url, 5000);
    await closed.close();
    const refused = await telegramError(nowhere.downloadFile(filePath, MB));
    expect(refused).toMatchObject({ failure: 'network', errorClass: 'transient' });

    expect((await client.downloadFile(filePath, MB)).toString()).toBe('x');
  });

  it('gives up a download when its signal aborts', async () => {
    const update = tg.pushMedia(1, { document: { data: 'x', fileName: 'a.txt' } });
    const { filePath } = await client.getFile(fileIdOf(update));
    tg.failNext(FILE_DOWNLOAD, { hang: true });
    const controller = new AbortController();
    const download = client.downloadFile(filePath, MB, controller.signal);
    await tg.waitFor(() => tg.downloads.length === 1, 5000, 'the download request');
    controller.abort();
    expect(await edgeError(download)).toBeInstanceOf(TelegramError);
  });

  it('keeps the bot token out of every error message, even a token no pattern recognises', async () => {
    const token = '777:bot-secret-xyz';
    const secret = 'bot-secret-xyz';
    const own = await startFakeTelegram({ token });
    const local = await startFakeTelegram({ token, local: { workingDir: dir } });
    try {
      const remote = new TelegramClient(token, own.url, 200);
      const onDisk = new TelegramClient(token, local.url, 5000);
      const update = own.pushMedia(1, { document: { data: Buffer.alloc(100), fileName: 'a.bin' } });
      const { filePath } = await remote.getFile(fileIdOf(update));
      const localUpdate = local.pushMedia(1, { document: { data: 'x', fileName: 'b.bin' } });
      const localFile = await onDisk.getFile(fileIdOf(localUpdate));
      expect(localFile.filePath).toContain(token); // the local server keeps files under the token

      const errors: EdgeError[] = [];
      own.expireFileLinks();
      errors.push(await edgeError(remote.downloadFile(filePath, MB)));
      await remote.getFile(fileIdOf(update));
      errors.push(await edgeError(remote.downloadFile(filePath, 10)));
      own.failNext(FILE_DOWNLOAD, telegramErrors.badGateway());
      errors.push(await edgeError(remote.downloadFile(filePath, MB)));
      own.failNext(FILE_DOWNLOAD, { hang: true });
      errors.push(await edgeError(remote.downloadFile(filePath, MB)));
      const gone = await startFakeTelegram({ token });
      await gone.close();
      errors.push(await edgeError(new TelegramClient(token, gone.url, 200).downloadFile(filePath, MB)));
      errors.push(await edgeError(onDisk.downloadFile(localFile.filePath, 0)));
      fs.rmSync(localFile.filePath);
      errors.push(await edgeError(onDisk.downloadFile(localFile.filePath, MB)));

      expect(errors.map((e) => (e as TelegramError).failure)).toEqual([
        FILE_LINK_EXPIRED,
        FILE_TOO_BIG,
        'server_error',
        'timeout',
        'network',
        FILE_TOO_BIG,
        FILE_UNREADABLE,
      ]);
      for (const err of errors) {
        expect(err.message).not.toContain(secret);
        expect(String(err.stack)).not.toContain(secret);
      }
    } finally {
      await own.close();
      await local.close();
    }
  });

  it('sends a photo with its caption as a reply', async () => {
    const image = png(640, 480, 100);
    const id = await client.sendPhoto(42, { buffer: image, filename: 'chart.png' }, 'the chart', 5);
    expect(tg.photos).toHaveLength(1);
    expect(tg.photos[0]).toMatchObject({
      chatId: 42,
      messageId: id,
      filename: 'chart.png',
      caption: 'the chart',
      replyToMessageId: 5,
    });
    expect(tg.photos[0]?.content.equals(image)).toBe(true);
    expect(tg.documents).toHaveLength(0);

    const path_ = path.join(dir, 'from-disk.png');
    fs.writeFileSync(path_, image);
    await client.sendPhoto(42, { path: path_ });
    expect(tg.photos[1]).toMatchObject({ filename: 'from-disk.png', size: image.length });
  });

  it('refuses a photo over 10 MB before sending it', async () => {
    const big = png(2000, 1000, TELEGRAM_PHOTO_LIMIT_BYTES);
    const err = await telegramError(client.sendPhoto(42, { buffer: big, filename: 'big.png' }));
    expect(err).toMatchObject({ failure: FILE_TOO_BIG, errorClass: 'permanent' });
    expect(tg.callsOf('sendPhoto')).toHaveLength(0);
  });

  describe('sendFileToChat', () => {
    it('sends a PNG as a photo', async () => {
      const image = png(800, 600);
      const id = await sendFileToChat(client, 42, { bytes: image, name: 'Screen.PNG' }, 'look', 3);
      expect(tg.photos.map((p) => [p.messageId, p.filename, p.caption])).toEqual([
        [id, 'Screen.PNG', 'look'],
      ]);
      expect(tg.documents).toHaveLength(0);
    });

    it('falls back to a document with the same bytes and name when Telegram refuses the photo', async () => {
      const image = png(800, 600);
      tg.failNext('sendPhoto', { errorCode: 400, description: 'Bad Request: PHOTO_INVALID_DIMENSIONS' });
      const id = await sendFileToChat(client, 42, { bytes: image, name: 'wide.png' }, 'wide', null);
      expect(tg.callsOf('sendPhoto').map((c) => c.status)).toEqual([400]);
      expect(tg.documents).toHaveLength(1);
      expect(tg.documents[0]).toMatchObject({ messageId: id, filename: 'wide.png', caption: 'wide' });
      expect(tg.documents[0]?.content.equals(image)).toBe(true);

      // the fake's own refusals: bytes that are no image, and a panorama beyond the ratio of 20
      await sendFileToChat(
        client,
        42,
        { bytes: Buffer.from('not an image'), name: 'fake.jpg' },
        undefined,
        null,
      );
      await sendFileToChat(client, 42, { bytes: png(4000, 100), name: 'pano.webp' }, undefined, null);
      expect(tg.callsOf('sendPhoto').map((c) => c.status)).toEqual([400, 400, 400]);
      expect(tg.documents.map((d) => d.filename)).toEqual(['wide.png', 'fake.jpg', 'pano.webp']);
    });

    it('classifies the photo refusals it falls back on as photo_refused', async () => {
      tg.failNext('sendPhoto', { errorCode: 400, description: 'Bad Request: IMAGE_PROCESS_FAILED' });
      const err = await telegramError(client.sendPhoto(42, { buffer: png(10, 10), filename: 'a.png' }));
      expect(err).toMatchObject({ failure: PHOTO_REFUSED, errorClass: 'permanent', code: '400' });
    });

    it('sends a text file, and an image over 10 MB, as a document', async () => {
      await sendFileToChat(client, 42, { bytes: Buffer.from('hello\n'), name: 'notes.txt' }, undefined, null);
      const big = png(2000, 1000, TELEGRAM_PHOTO_LIMIT_BYTES);
      await sendFileToChat(client, 42, { bytes: big, name: 'big.png' }, undefined, null);
      expect(tg.callsOf('sendPhoto')).toHaveLength(0);
      expect(tg.documents.map((d) => [d.filename, d.size])).toEqual([
        ['notes.txt', 6],
        ['big.png', big.length],
      ]);
    });

    it('propagates a blocked chat, a missing chat and a transient failure without a document', async () => {
      const file = { bytes: png(10, 10), name: 'a.png' };
      tg.failNext('sendPhoto', telegramErrors.blocked());
      const blocked = await telegramError(sendFileToChat(client, 42, file, undefined, null));
      expect(blocked).toMatchObject({ failure: 'refused', errorClass: 'permanent', code: '403' });

      tg.failNext('sendPhoto', telegramErrors.chatNotFound());
      const missing = await telegramError(sendFileToChat(client, 42, file, undefined, null));
      expect(missing).toMatchObject({ failure: 'refused', errorClass: 'permanent', code: '400' });

      tg.failNext('sendPhoto', telegramErrors.internal());
      const internal = await telegramError(sendFileToChat(client, 42, file, undefined, null));
      expect(internal).toMatchObject({ errorClass: 'transient', code: '500' });
      expect(tg.callsOf('sendDocument')).toHaveLength(0);
    });

    it('leaves a sent photo that getFile serves back byte for byte', async () => {
      const image = png(320, 240, 50);
      await sendFileToChat(client, 42, { bytes: image, name: 'p.jpeg' }, undefined, null);
      const stored = tg.files.at(-1);
      expect(stored?.kind).toBe('photo');
      const { filePath } = await client.getFile(stored?.fileId ?? '');
      expect((await client.downloadFile(filePath, MB)).equals(image)).toBe(true);
    });
  });
});

describe('a path on this disk', () => {
  it("is read from a local Bot API server only, never because Telegram's own server named it", async () => {
    const telegram = { apiRoot: 'https://api.telegram.org', token: '1:secret', timeoutMs: 1000 };
    expect(readsLocalPaths(telegram)).toBe(false);
    expect(readsLocalPaths({ apiRoot: 'http://127.0.0.1:8081' })).toBe(true);
    await expect(downloadFile(telegram, '/etc/passwd', 1_000_000)).rejects.toMatchObject({
      failure: 'file_unreadable',
      errorClass: 'permanent',
    });
  });
});
