import { useWorkerHarness, unixNow } from '../helpers/worker-harness';

// The real worker in this process, the real clients over HTTP to the local fakes, a real SQLite file.

const h = useWorkerHarness();
const start = h.start;
const rows = h.rows;
const now = unixNow;

describe('worker', () => {
  it('answers 3 chats × 5 messages, in order per chat, each as a reply to its message', async () => {
    await start({ WORKER_CONCURRENCY: '3' });
    const pushed = new Map<number, number[]>();
    for (let i = 0; i < 5; i++) {
      for (const chat of [101, 102, 103]) {
        const update = h.telegram.pushMessage(chat, `chat ${chat} message ${i}`);
        pushed.set(chat, [...(pushed.get(chat) ?? []), update.message!.message_id]);
      }
    }
    await h.telegram.waitForSent(15, 20_000);
    for (const chat of [101, 102, 103]) {
      const sent = h.telegram.sentTo(chat);
      expect(sent.map((m) => m.text)).toEqual([0, 1, 2, 3, 4].map((i) => `echo: chat ${chat} message ${i}`));
      expect(sent.map((m) => m.replyToMessageId)).toEqual(pushed.get(chat));
    }
    expect(h.openai.requests).toHaveLength(15);
    await h.settled();
    expect(rows(`SELECT count(*) AS n FROM inbox WHERE status = 'done'`)[0]!.n).toBe(15);
    expect(rows(`SELECT count(*) AS n FROM history`)[0]!.n).toBe(30);
  });

  it('sends the chat history as context, newest turns kept', async () => {
    await start();
    h.telegram.pushMessage(101, 'first');
    await h.telegram.waitForSent(1);
    h.telegram.pushMessage(101, 'second');
    await h.telegram.waitForSent(2);
    const last = h.openai.requests.at(-1)!.body.messages;
    expect(last.map((m) => [m.role, m.content])).toEqual([
      ['system', expect.any(String)],
      ['user', 'first'],
      ['assistant', 'echo: first'],
      ['user', 'second'],
    ]);
  });

  it('answers with AGENT_TOOLS=off as a run with no tools: one model call offered no tools, no project folder', async () => {
    await start({ AGENT_TOOLS: 'off' });
    h.telegram.pushMessage(101, 'plain please');
    await h.telegram.waitForSent(1);
    expect(h.telegram.sentTo(101).map((m) => m.text)).toEqual(['echo: plain please']);
    expect(h.openai.requests).toHaveLength(1);
    expect(h.openai.requests[0]!.body.tools ?? []).toEqual([]);
    await h.settled();
    expect(rows(`SELECT status, project FROM agent_runs`)).toEqual([{ status: 'done', project: '' }]);
  });

  it('splits a 10,000-character answer into messages of at most 4096 characters, in order', async () => {
    const paragraphs = Array.from({ length: 20 }, (_, i) => `Paragraph ${i}: ` + 'x'.repeat(480));
    h.openai.setReply(() => paragraphs.join('\n\n'));
    await start();
    h.telegram.pushMessage(101, 'write a lot');
    await h.telegram.waitFor(() => h.telegram.sentTo(101).length >= 3, 10_000, 'three parts');
    await new Promise((r) => setTimeout(r, 200));
    const sent = h.telegram.sentTo(101);
    for (const m of sent) expect(m.text.length).toBeLessThanOrEqual(4096);
    expect(sent.map((m) => m.text).join('\n\n')).toBe(paragraphs.join('\n\n'));
    expect(h.openai.requests).toHaveLength(1);
  });

  it('resends as plain text when Telegram rejects the formatting', async () => {
    h.openai.setReply(() => 'Some **bold** answer');
    h.telegram.rejectFormatting(true);
    await start();
    h.telegram.pushMessage(101, 'format me');
    await h.telegram.waitForSent(1);
    expect(h.telegram.sent[0]).toMatchObject({ text: 'Some **bold** answer', parseMode: undefined });
  });

  it('renders Markdown as Telegram HTML when it is accepted', async () => {
    h.openai.setReply(() => 'Some **bold** answer');
    await start();
    h.telegram.pushMessage(101, 'format me');
    await h.telegram.waitForSent(1);
    expect(h.telegram.sent[0]).toMatchObject({ text: 'Some <b>bold</b> answer', parseMode: 'HTML' });
  });

  it('answers non-text updates with a short notice and skips them, never calling the model', async () => {
    await start();
    h.telegram.pushUpdate({
      message: {
        message_id: 1,
        date: now(),
        chat: { id: 101, type: 'private' },
        animation: { file_id: 'x', file_unique_id: 'xu', width: 1, height: 1, duration: 1 },
        caption: 'look',
      },
    });
    h.telegram.pushUpdate({
      message: {
        message_id: 2,
        date: now(),
        chat: { id: 101, type: 'private' },
        sticker: {
          file_id: 'y',
          file_unique_id: 'yu',
          type: 'regular',
          width: 1,
          height: 1,
          is_animated: false,
          is_video: false,
        },
      },
    });
    h.telegram.pushUpdate({
      edited_message: { message_id: 3, date: now(), chat: { id: 101, type: 'private' }, text: 'edit' },
    });
    h.telegram.pushUpdate({
      channel_post: { message_id: 4, date: now(), chat: { id: -1001, type: 'channel' }, text: 'post' },
    });
    h.telegram.pushUpdate({ callback_query: { id: 'cb', data: 'x' } });
    h.telegram.pushMessage(101, 'real question');
    await h.telegram.waitFor(() => h.telegram.sentTo(101).length >= 4, 10_000, 'three notices and an answer');
    const texts = h.telegram.sentTo(101).map((m) => m.text);
    expect(texts[0]).toMatch(/not GIFs/);
    expect(texts[1]).toMatch(/not stickers/);
    expect(texts[2]).toMatch(/not edits/);
    expect(texts[3]).toBe('echo: real question');
    expect(h.openai.requests).toHaveLength(1);
    await h.settled();
    const statuses = rows(`SELECT kind, status FROM inbox ORDER BY update_id`).map(
      (r) => `${r.kind}:${r.status}`,
    );
    expect(statuses).toEqual([
      'animation:skipped',
      'sticker:skipped',
      'edited_message:skipped',
      'channel_post:skipped',
      'callback_query:skipped',
      'text:done',
    ]);
  });

  it('cold start keeps only fresh pending updates, at most TG_PENDING_MAX_MESSAGES', async () => {
    const old = now() - 3600;
    for (let i = 0; i < 10; i++) h.telegram.pushMessage(101, `old ${i}`, { date: old });
    for (let i = 0; i < 20; i++) h.telegram.pushMessage(102, `fresh ${i}`);
    await start({ TG_PENDING_MAX_MESSAGES: '15' });
    await h.telegram.waitForSent(15, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.telegram.sentTo(101)).toHaveLength(0);
    expect(h.telegram.sentTo(102).map((m) => m.text)).toEqual(
      Array.from({ length: 15 }, (_, i) => `echo: fresh ${i + 5}`),
    );
    await h.settled();
    const skipped = rows(`SELECT error FROM inbox WHERE status = 'skipped'`).map((r) => String(r.error));
    expect(skipped).toHaveLength(15);
    expect(skipped.filter((e) => e.includes('TG_PENDING_WINDOW_SECONDS'))).toHaveLength(10);
    expect(skipped.filter((e) => e.includes('TG_PENDING_MAX_MESSAGES'))).toHaveLength(5);
  });

  it('a restart with pending updates answers all of them', async () => {
    const first = await start();
    h.telegram.pushMessage(101, 'before');
    await h.telegram.waitForSent(1);
    await first.stop(1000);
    for (let i = 0; i < 30; i++) h.telegram.pushMessage(102, `while down ${i}`, { date: now() - 7200 });
    await start();
    await h.telegram.waitForSent(31, 20_000);
    await h.settled();
    expect(rows(`SELECT count(*) AS n FROM inbox WHERE status = 'skipped'`)[0]!.n).toBe(0);
  });

  it('stores every update before acknowledging it', async () => {
    await start();
    for (let i = 0; i < 5; i++) h.telegram.pushMessage(101, `m${i}`);
    await h.telegram.waitForSent(5);
    // The offset Telegram was given never runs ahead of the inbox
    const stored = rows(`SELECT max(update_id) AS m FROM inbox`)[0]!.m as number;
    expect(h.telegram.confirmedOffset).toBeLessThanOrEqual(stored + 1);
  });

  it('stores a message that arrives during a long poll within milliseconds', async () => {
    // neither the poll's 20 s nor the 5 s retry pace may stand between a message and the inbox
    await start({ TG_TIMEOUT: '20', TG_SLEEP_SECONDS: '5' });
    await h.telegram.waitFor(
      () => h.telegram.callsOf('getUpdates').some((c) => Number(c.params.timeout) > 0),
      5000,
    );
    h.openai.setLatency(2000);
    const pushed = Date.now();
    h.telegram.pushMessage(101, 'quick');
    await h.telegram.waitFor(
      () => rows(`SELECT 1 FROM inbox WHERE text = 'quick'`).length === 1,
      2000,
      'stored',
    );
    // the worker's own stamp, not when this test's polling saw the row (typically 5–20 ms; the
    // bound leaves room for a loaded CI machine and is still far below either wait above)
    const ms = Number(rows(`SELECT received_at FROM inbox WHERE text = 'quick'`)[0]?.received_at) - pushed;
    expect(ms).toBeLessThan(500);
  });

  it('logs a 409 Conflict as another instance and keeps polling', async () => {
    h.telegram.failNext('getUpdates', {
      errorCode: 409,
      description:
        'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
    });
    await start();
    h.telegram.pushMessage(101, 'after the conflict');
    await h.telegram.waitForSent(1, 10_000);
    expect(h.log.lines.some((l) => l.includes('409 Conflict: another instance polls this bot'))).toBe(true);
  });

  it('stops with a fatal error naming TELEGRAM_BOT_TOKEN when Telegram answers 401', async () => {
    h.telegram.failNext('getUpdates', { errorCode: 401, description: 'Unauthorized' });
    const worker = await start();
    await expect(worker.done).rejects.toThrow(/TELEGRAM_BOT_TOKEN/);
  });

  it('shows a typing indicator while the model thinks for more than a moment', async () => {
    h.openai.setLatency(1200);
    await start();
    h.telegram.pushMessage(101, 'think');
    await h.telegram.waitForSent(1);
    const typing = h.telegram.callsOf('sendChatAction')[0]!;
    expect(typing.params).toMatchObject({ chat_id: 101, action: 'typing' });
    expect(typing.at).toBeLessThan(h.telegram.sent[0]!.at);
  });

  it('sends no typing indicator for an answer that comes at once', async () => {
    await start();
    h.telegram.pushMessage(101, 'quick');
    await h.telegram.waitForSent(1);
    await h.settled();
    expect(h.telegram.callsOf('sendChatAction')).toHaveLength(0);
  });

  it('on stop, lets the message in flight finish before closing', async () => {
    h.openai.setLatency(700);
    const worker = await start();
    h.telegram.pushMessage(101, 'in flight');
    await h.openai.waitFor(() => h.openai.requests.length === 1, 5000, 'the model call');
    await worker.stop(5000);
    expect(h.telegram.sent.map((m) => m.text)).toEqual(['echo: in flight']);
    expect(rows(`SELECT status FROM inbox`)).toEqual([{ status: 'done' }]);
  });

  it('on stop past the grace period, puts the message back without counting the attempt', async () => {
    h.openai.setLatency(5000);
    const worker = await start();
    h.telegram.pushMessage(101, 'too slow');
    await h.openai.waitFor(() => h.openai.requests.length === 1, 5000, 'the model call');
    await worker.stop(200);
    expect(rows(`SELECT status, attempts FROM inbox`)).toEqual([{ status: 'queued', attempts: 0 }]);
  });

  /** A rollback from r2 to r1 on record, as the supervisor writes it. */
  const recordRollback = async (reason: string): Promise<void> => {
    const { openDatabase } = await import('../../src/db/open');
    const db = openDatabase(h.dbPath);
    db.sqlite
      .prepare(
        `INSERT INTO supervisor_events (at, app, event, revision, detail) VALUES (?, 'autonous-worker', 'rollback', 'r1', ?)`,
      )
      .run(Date.now(), JSON.stringify({ from: 'r2', to: 'r1', reason }));
    db.close();
  };

  it('tells the admin chats once about each rollback the supervisor recorded', async () => {
    await recordRollback('crash loop: 5 exits in 60s');
    // the first notice is slow: the worker is stopped while the announcement is under way
    h.telegram.failNext('sendMessage', { delayMs: 300 });
    const first = await start({ TG_ADMIN_CHAT_IDS: '500,501' });
    await h.telegram.waitFor(() => h.telegram.callsOf('sendMessage').length === 1, 5000, 'the first notice');
    await first.stop(5000);
    // the stop let it finish and remembered it
    expect(h.telegram.sent.map((m) => [m.chatId, m.text])).toEqual([
      [500, 'autonous: revision r2 failed (crash loop: 5 exits in 60s); rolled back, now running r1.'],
      [501, 'autonous: revision r2 failed (crash loop: 5 exits in 60s); rolled back, now running r1.'],
    ]);
    const second = await start({ TG_ADMIN_CHAT_IDS: '500,501' });
    h.telegram.pushMessage(101, 'after restart');
    await h.telegram.waitFor(() => h.telegram.sentTo(101).length === 1, 5000, 'the answer after the restart');
    // a stop waits for the start's announcement, so nothing more can come from it after this
    await second.stop(5000);
    expect(h.telegram.sentTo(500)).toHaveLength(1);
    expect(h.telegram.sentTo(501)).toHaveLength(1);
  });

  it('does not let a notice that Telegram never answers hold a stop past its grace', async () => {
    await recordRollback('crash loop');
    h.telegram.failNext('sendMessage', { hang: true });
    const worker = await start({ TG_ADMIN_CHAT_IDS: '500' });
    await h.telegram.waitFor(() => h.telegram.callsOf('sendMessage').length === 1, 5000, 'the notice');
    const stopAt = Date.now();
    await worker.stop(300);
    expect(Date.now() - stopAt).toBeGreaterThanOrEqual(250);
    expect(Date.now() - stopAt).toBeLessThan(3000);
  });

  it('announces a rollback again on the next start when no admin chat received it', async () => {
    await recordRollback('crash loop');
    h.telegram.failNext('sendMessage', { errorCode: 500, description: 'Internal Server Error' });
    const first = await start({ TG_ADMIN_CHAT_IDS: '500' });
    await h.telegram.waitFor(() => h.telegram.callsOf('sendMessage').length === 1, 5000, 'the failed notice');
    await first.stop(1000);
    await start({ TG_ADMIN_CHAT_IDS: '500' });
    await h.telegram.waitForSent(1);
    expect(h.telegram.sent[0]).toMatchObject({
      chatId: 500,
      text: expect.stringContaining('revision r2 failed'),
    });
  });
});
