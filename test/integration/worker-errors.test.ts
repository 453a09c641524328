import fs from 'node:fs';
import { lastUserText, openAIErrors } from '../helpers/fake-openai';
import { recordedResponse } from '../helpers/provider-recordings';
import { telegramErrors } from '../helpers/fake-telegram';
import { TEST_API_KEY } from '../helpers/worker-env';
import { useWorkerHarness, unixNow } from '../helpers/worker-harness';

// Failures at the edges, each with a clear outcome, none stopping the worker.

const h = useWorkerHarness();
const item = (text: string): Record<string, unknown> =>
  h.rows(`SELECT * FROM inbox WHERE text = ?`, text)[0] ?? {};

describe('worker under errors', () => {
  it('retries a message the model fails with 500 with growing delays, then dead-letters it and answers the rest', async () => {
    h.openai.failWhen((req) => lastUserText(req) === 'doomed', openAIErrors.serverError());
    await h.start({
      WORKER_MAX_ATTEMPTS: '4',
      WORKER_RETRY_BASE_SECONDS: '0.15',
      WORKER_RETRY_MAX_SECONDS: '5',
    });
    h.telegram.pushMessage(101, 'doomed');
    h.telegram.pushMessage(101, 'after');
    h.telegram.pushMessage(102, 'other chat');
    await h.telegram.waitFor(
      () => h.telegram.sentTo(101).length >= 2,
      15_000,
      'the notice and the next answer',
    );
    const tries = h.openai.requestsFor((b) => b.messages.at(-1)?.content === 'doomed').map((r) => r.at);
    expect(tries).toHaveLength(4);
    const gaps = tries.slice(1).map((t, i) => t - tries[i]!);
    // base 0.15 s × 2^(n−1) with ±20 % jitter: each gap at least its delay's lowest draw (120, 240,
    // 480 ms), which is more than the longest draw before it (180, 360 ms): the delays grow. Only
    // lower bounds, which a slow machine cannot break (it only adds to each gap).
    expect(gaps[0]!).toBeGreaterThanOrEqual(119);
    expect(gaps[1]!).toBeGreaterThanOrEqual(239);
    expect(gaps[2]!).toBeGreaterThanOrEqual(479);
    await h.settled();
    const doomed = item('doomed');
    expect(doomed).toMatchObject({
      status: 'dead',
      attempts: 4,
      error_class: 'transient',
      error_code: 'openai:500',
    });
    const texts = h.telegram.sentTo(101).map((m) => m.text);
    // the person is told what the model's server said (its 500 body's message)
    expect(texts[0]).toBe(
      `Sorry, I could not answer this message: the model's server said "The server had an error while processing your request. Sorry about that!" (reference #${doomed.id}). The operator has been left a note and can retry it.`,
    );
    expect(texts[1]).toBe('echo: after');
    // the other chat did not wait for chat 101's failing message
    expect(h.telegram.sentTo(102)[0]!.at).toBeLessThan(h.telegram.sentTo(101)[0]!.at);
  });

  it("tells the person in one sentence what the model's server said when it refuses a message, redacted and cut; the row keeps the whole", async () => {
    const leaked = 'sk-proj-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2';
    const words = `Invalid 'messages[1].content': the request quoted ${leaked} and ${TEST_API_KEY}; ${'the rest of a long explanation, '.repeat(12)}end.`;
    h.openai.failNext({ status: 400, error: { message: words, type: 'invalid_request_error', code: null } });
    await h.start();
    h.telegram.pushMessage(101, 'refused');
    await h.telegram.waitForSent(1, 10_000);
    await h.settled();
    const refused = item('refused');
    expect(refused).toMatchObject({
      status: 'dead',
      attempts: 1,
      error_class: 'permanent',
      error_code: 'openai:400',
    });
    expect(h.openai.requests).toHaveLength(1);

    const notice = h.telegram.sentTo(101)[0]!.text;
    const quoted =
      /^Sorry, I could not answer this message: the model's server said "(.*)" \(reference #(\d+)\)\. The operator/.exec(
        notice,
      );
    expect(quoted?.[2]).toBe(String(refused.id));
    expect(quoted?.[1]).toMatch(
      /^Invalid 'messages\[1\]\.content': the request quoted \[redacted\] and \[redacted\]; the rest/,
    );
    expect(quoted?.[1]).toHaveLength(200);
    expect(quoted?.[1]?.endsWith('…')).toBe(true);
    for (const secret of [leaked, TEST_API_KEY]) expect(notice).not.toContain(secret);

    // `queue dead` shows the row's error: the provider's whole message, redacted
    const stored = String(refused.error);
    expect(stored).toContain(words.replace(leaked, '[redacted]').replace(TEST_API_KEY, '[redacted]'));
    expect(stored).toMatch(/^The model's server answered 400: /);
  });

  it('does not retry the recorded "Token limit reached" inside a 200 stream, and names it in the reply', async () => {
    h.openai.failNext(recordedResponse('openrouter-stream-length-error'));
    await h.start();
    h.telegram.pushMessage(101, 'think hard');
    await h.telegram.waitForSent(1, 10_000);
    await h.settled();
    expect(h.openai.requests).toHaveLength(1);
    const dead = item('think hard');
    expect(dead).toMatchObject({ status: 'dead', attempts: 1, error_code: 'openai:400' });
    expect(h.telegram.sentTo(101)[0]!.text).toMatch(
      /^Sorry, I could not answer this message: the model's server said "Token limit reached" \(reference #\d+\)/,
    );
  });

  it('retries the recorded tool_use_failed as any transient failure, then names it in the reply', async () => {
    h.openai.failWhen(() => true, recordedResponse('groq-400-tool-use-failed'));
    await h.start({ WORKER_MAX_ATTEMPTS: '2', WORKER_RETRY_BASE_SECONDS: '0.05' });
    h.telegram.pushMessage(101, 'call a tool');
    await h.telegram.waitForSent(1, 10_000);
    await h.settled();
    expect(h.openai.requests).toHaveLength(2);
    expect(item('call a tool')).toMatchObject({
      status: 'dead',
      attempts: 2,
      error_class: 'transient',
      error_code: 'openai:tool_use_failed',
    });
    expect(h.telegram.sentTo(101)[0]!.text).toMatch(
      /^Sorry, I could not answer this message: the model's server said "Tool call validation failed: tool call validation failed: parameters for tool get_something_by_name did not match schema/,
    );
  });

  it('waits the Retry-After the model asks for', async () => {
    h.openai.failNext(openAIErrors.rateLimit('requests', 1));
    await h.start();
    h.telegram.pushMessage(101, 'slow down');
    await h.telegram.waitForSent(1, 10_000);
    const [first, second] = h.openai.requests.map((r) => r.at);
    expect(second! - first!).toBeGreaterThanOrEqual(950);
    await h.settled();
    expect(item('slow down')).toMatchObject({ status: 'done', attempts: 2 });
  });

  it("waits Telegram's retry_after on a 429 and sends once", async () => {
    h.telegram.failNext('sendMessage', telegramErrors.tooManyRequests(1));
    await h.start();
    h.telegram.pushMessage(101, 'flood');
    await h.telegram.waitForSent(1, 10_000);
    const sends = h.telegram.callsOf('sendMessage').map((c) => c.at);
    expect(sends).toHaveLength(2);
    expect(sends[1]! - sends[0]!).toBeGreaterThanOrEqual(950);
    expect(h.openai.requests).toHaveLength(1);
  });

  it('dead-letters at once when Telegram answers 403 (the user blocked the bot)', async () => {
    h.telegram.failNext('sendMessage', telegramErrors.blocked(), 5);
    await h.start();
    h.telegram.pushMessage(101, 'blocked');
    await h.telegram.waitFor(() => item('blocked').status === 'dead', 10_000, 'dead item');
    expect(item('blocked')).toMatchObject({
      attempts: 1,
      error_class: 'permanent',
      error_code: 'telegram:403',
    });
    expect(h.openai.requests).toHaveLength(1);
  });

  it('does not call the model for a chat outside the allowlist and tells it its id once', async () => {
    await h.start({ TG_ALLOWED_CHAT_IDS: '101' });
    h.telegram.pushMessage(999, 'let me in');
    h.telegram.pushMessage(999, 'please');
    h.telegram.pushMessage(101, 'owner');
    await h.telegram.waitFor(() => h.telegram.sentTo(101).length === 1, 10_000, 'owner answered');
    await h.telegram.waitFor(
      () => h.rows(`SELECT 1 FROM inbox WHERE status = 'queued'`).length === 0,
      5000,
      'drained',
    );
    expect(h.openai.requests.map((r) => lastUserText(r.body))).toEqual(['owner']);
    const notices = h.telegram.sentTo(999);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toContain('999');
    expect(notices[0]!.text).toContain('TG_ALLOWED_CHAT_IDS');
    await h.settled();
    const stranger = h.rows(`SELECT status, text FROM inbox WHERE chat_id = 999`);
    expect(stranger).toEqual([
      { status: 'skipped', text: null },
      { status: 'skipped', text: null },
    ]);
  });

  it('answers no one when the allowlist is empty, and says so', async () => {
    await h.start({ TG_ALLOWED_CHAT_IDS: '' });
    h.telegram.pushMessage(101, 'hello?');
    await h.telegram.waitForSent(1);
    expect(h.telegram.sent[0]!.text).toMatch(/not answering anyone yet/);
    expect(h.openai.requests).toHaveLength(0);
    expect(h.log.lines.some((l) => l.includes('TG_ALLOWED_CHAT_IDS is empty'))).toBe(true);
  });

  it('pauses on a rejected API key without burning attempts, then carries on', async () => {
    h.openai.failNext({
      status: 401,
      error: {
        message: 'Incorrect API key provided: sk-abc***xyz.',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      },
    });
    await h.start({ WORKER_MAX_ATTEMPTS: '1' });
    h.telegram.pushMessage(101, 'key?');
    await h.telegram.waitFor(
      () => h.log.lines.some((l) => l.includes('processing paused')),
      5000,
      'pause logged',
    );
    expect(item('key?')).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('compacts the session and asks once more when the model says the request is too long', async () => {
    await h.start();
    h.telegram.pushMessage(101, 'first');
    await h.telegram.waitForSent(1);
    h.openai.failNext(openAIErrors.contextLengthExceeded());
    h.telegram.pushMessage(101, 'second');
    await h.telegram.waitForSent(2);
    expect(h.telegram.sent[1]!.text).toBe('echo: second');
    await h.settled();
    // the first answer, the refused request, the summary's request, the retry: nothing more
    expect(h.openai.requests).toHaveLength(4);
    expect(lastUserText(h.openai.requests[2]!.body)).toMatch(/^Summarize the conversation so far/);
    expect(h.openai.requests[3]!.body.messages.map((m) => m.role)).toEqual(['system', 'user', 'user']);
    expect(h.rows('SELECT kind FROM compactions')).toEqual([{ kind: 'summary' }]);
    expect(item('second')).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('answers clearly when the model refuses a request that holds nothing to compact', async () => {
    h.openai.failNext(openAIErrors.contextLengthExceeded());
    await h.start();
    h.telegram.pushMessage(101, 'long');
    await h.telegram.waitForSent(1);
    expect(h.telegram.sent[0]!.text).toMatch(
      /^I stopped: the model refused the request as longer than its context window/,
    );
    await h.settled();
    expect(h.openai.requests).toHaveLength(1);
    expect(item('long')).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('turns a hung model call into a transient failure after OPENAI_TIMEOUT_SECONDS', async () => {
    h.openai.failNext({ hang: true });
    await h.start({ OPENAI_TIMEOUT_SECONDS: '1' });
    h.telegram.pushMessage(101, 'hang');
    await h.telegram.waitForSent(1, 10_000);
    expect(h.openai.requests).toHaveLength(2);
    await h.settled();
    expect(item('hang')).toMatchObject({ status: 'done', attempts: 2 });
  });

  it.each([
    ['empty text', { text: '' }, /empty/],
    [
      'emoji, right-to-left, zero-width and NUL characters',
      { text: 'hi 👩‍💻 שלום\u200b\u200f\u0000end' },
      /^echo: hi 👩‍💻 שלום/,
    ],
    [
      'a photo whose file Telegram does not know (getFile refuses its id, for good)',
      { photo: [{ file_id: 'p', file_unique_id: 'pu', width: 1, height: 1 }], caption: 'see' },
      /could not answer this message/,
    ],
  ])('survives %s', async (_name, content, expected) => {
    await h.start();
    h.telegram.pushUpdate({
      message: { message_id: 7, date: unixNow(), chat: { id: 101, type: 'private' }, ...content },
    });
    h.telegram.pushMessage(101, 'still alive?');
    await h.telegram.waitForSent(2, 10_000);
    expect(h.telegram.sentTo(101)[0]!.text).toMatch(expected);
    expect(h.telegram.sentTo(101)[1]!.text).toBe('echo: still alive?');
  });

  it('answers a message over 4096 characters in two parts', async () => {
    await h.start();
    h.telegram.pushMessage(101, 'y'.repeat(5000));
    h.telegram.pushMessage(101, 'still alive?');
    await h.telegram.waitForSent(3, 10_000);
    const texts = h.telegram.sentTo(101).map((m) => m.text);
    expect(texts[0]!.length).toBeLessThanOrEqual(4096);
    expect(texts[0]! + texts[1]!).toBe('echo: ' + 'y'.repeat(5000));
    expect(texts[2]).toBe('echo: still alive?');
  });

  it('survives an edited message, a channel post and an update without a message', async () => {
    await h.start();
    h.telegram.pushUpdate({
      edited_message: {
        message_id: 1,
        date: unixNow(),
        edit_date: unixNow(),
        chat: { id: 101, type: 'private' },
        text: 'x',
      },
    });
    h.telegram.pushUpdate({
      channel_post: { message_id: 2, date: unixNow(), chat: { id: -100123, type: 'channel' }, text: 'news' },
    });
    h.telegram.pushUpdate({
      poll: {
        id: 'p',
        question: 'q',
        options: [],
        total_voter_count: 0,
        is_closed: false,
        is_anonymous: true,
        type: 'regular',
        allows_multiple_answers: false,
      },
    });
    h.telegram.pushMessage(101, 'after all that');
    await h.telegram.waitForSent(2, 10_000);
    expect(h.telegram.sentTo(101).map((m) => m.text)).toEqual([
      expect.stringMatching(/not edits/),
      'echo: after all that',
    ]);
    await h.settled();
    expect(h.rows(`SELECT kind, status, error FROM inbox ORDER BY update_id`).slice(0, 3)).toEqual([
      { kind: 'edited_message', status: 'skipped', error: 'not a text message (edited_message)' },
      { kind: 'channel_post', status: 'skipped', error: 'channel posts are not answered' },
      { kind: 'poll', status: 'skipped', error: 'unsupported update type: poll' },
    ]);
  });

  it('keeps both secrets out of the database and the log after a run full of errors', async () => {
    h.openai.failNext(
      { status: 500, error: { message: `upstream echoed the key ${TEST_API_KEY}`, type: 'server_error' } },
      3,
    );
    h.telegram.failNext('sendMessage', {
      httpStatus: 502,
      body: `<html>bad gateway for /bot${h.telegram.token}/sendMessage</html>`,
    });
    h.telegram.failNext('getUpdates', telegramErrors.internal());
    const worker = await h.start({ WORKER_MAX_ATTEMPTS: '2' });
    h.telegram.pushMessage(101, 'a');
    h.telegram.pushMessage(102, 'b');
    await h.telegram.waitFor(
      () => h.rows(`SELECT 1 FROM inbox WHERE status IN ('done', 'dead')`).length === 2,
      20_000,
      'both settled',
    );
    await worker.stop(1000);
    // the failures really carried the key: it was redacted, not absent
    expect(h.rows(`SELECT error FROM inbox WHERE error LIKE '%[redacted]%'`).length).toBeGreaterThan(0);
    const bytes =
      fs.readFileSync(h.dbPath).toString('latin1') +
      fs.readFileSync(`${h.dbPath}-wal`, { flag: 'a+' }).toString('latin1');
    for (const secret of [h.telegram.token, TEST_API_KEY]) {
      expect(bytes.includes(secret)).toBe(false);
      expect(h.log.lines.join('\n').includes(secret)).toBe(false);
    }
  });

  it('rides out another process holding the database past busy_timeout, losing nothing', async () => {
    const worker = await h.start();
    await h.telegram.waitFor(
      () => h.telegram.callsOf('getUpdates').some((c) => Number(c.params.timeout) > 0),
      5000,
    );
    const { default: Database } = await import('better-sqlite3');
    const other = new Database(h.dbPath);
    other.exec('BEGIN IMMEDIATE');
    h.telegram.pushMessage(101, 'while locked');
    // longer than the worker's 5 s busy_timeout: its store (and claim) fail and are retried
    await new Promise((r) => setTimeout(r, 6000));
    other.exec('COMMIT');
    other.close();
    await h.telegram.waitForSent(1, 15_000);
    expect(h.telegram.sent.map((m) => m.text)).toEqual(['echo: while locked']);
    expect(h.log.lines.some((l) => l.includes('could not store updates; fetching them again'))).toBe(true);
    let settled = false;
    void worker.done.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
  }, 30_000);

  it('pauses on a model the API does not know (404) instead of dead-lettering every message', async () => {
    h.openai.failNext({
      status: 404,
      error: {
        message: 'The model `gpt-nope` does not exist or you do not have access to it.',
        type: 'invalid_request_error',
        code: 'model_not_found',
      },
    });
    await h.start({ WORKER_MAX_ATTEMPTS: '1' });
    h.telegram.pushMessage(101, 'which model?');
    await h.telegram.waitFor(() => h.log.lines.some((l) => l.includes('OPENAI_MODEL')), 5000, 'pause logged');
    expect(item('which model?')).toMatchObject({ status: 'queued', attempts: 0 });
    expect(h.telegram.sent).toHaveLength(0);
  });

  it('a second stop waits for the first: the message in flight still finishes', async () => {
    h.openai.setLatency(600);
    const worker = await h.start();
    h.telegram.pushMessage(101, 'in flight');
    await h.openai.waitFor(() => h.openai.requests.length === 1, 5000, 'the model call');
    const first = worker.stop(5000);
    await worker.stop(0);
    expect(h.telegram.sent.map((m) => m.text)).toEqual(['echo: in flight']);
    await first;
  });

  it('backs off at least 100 ms between failed polls even with TG_SLEEP_SECONDS=0', async () => {
    h.telegram.failNext('getUpdates', telegramErrors.internal(), 3);
    await h.start({ TG_SLEEP_SECONDS: '0' });
    await h.telegram.waitFor(() => h.telegram.callsOf('getUpdates').length >= 4, 5000, 'four polls');
    const at = h.telegram.callsOf('getUpdates').map((c) => c.at);
    for (let i = 1; i < 4; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(95);
  });
});
