/**
 * The fakes are only worth something if the real clients see the real APIs in them: these tests
 * drive node-telegram-bot-api, the openai SDK and the pm2 CLI against the helpers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Api, NetworkError, TelegramApiError } from 'node-telegram-bot-api';
import OpenAI, { AuthenticationError, BadRequestError, InternalServerError, RateLimitError } from 'openai';
import { startFakeTelegram, telegramErrors, type FakeTelegram } from '../helpers/fake-telegram';
import { openAIErrors, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { openTempDb, removeTempDir } from '../helpers/temp-db';
import { isProcessAlive, reapSandboxes, startPm2Sandbox, type Pm2Sandbox } from '../helpers/pm2-sandbox';

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
