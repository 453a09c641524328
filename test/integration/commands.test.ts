import { lastUserText } from '../helpers/fake-openai';
import { useWorkerHarness } from '../helpers/worker-harness';

// Commands through the real worker: the fake Telegram delivers them, the control lane answers.

const h = useWorkerHarness();

function repliesTo(chatId: number): string[] {
  return h.telegram.sentTo(chatId).map((m) => m.text);
}

describe('commands (the control lane)', () => {
  it('answers /stop within a second while a slow model call runs; nothing is sent for the stopped message', async () => {
    // the slow call never answers; the fake's close() ends it, so no timer outlives the test
    h.openai.failWhen((req) => lastUserText(req) === 'slow question', { hang: true });
    h.openai.setReply((req) => `answer to ${lastUserText(req)}`);
    await h.start();
    h.telegram.pushMessage(101, 'slow question');
    await h.openai.waitFor(() => h.openai.requests.length === 1, 5000, 'the slow model call');
    h.telegram.pushMessage(101, 'queued behind it');
    h.telegram.pushMessage(101, 'and another');
    await h.telegram.waitFor(
      () => h.rows(`SELECT 1 FROM inbox WHERE text = 'and another'`).length === 1,
      5000,
    );
    const sentAt = Date.now();
    h.telegram.pushMessage(101, '/stop');
    await h.telegram.waitForSent(1, 3000);
    expect(Date.now() - sentAt).toBeLessThan(1000);
    expect(repliesTo(101)).toEqual(['Stopped the answer in progress and 2 waiting messages.']);

    const rows = h.rows(
      `SELECT text, status, error FROM inbox WHERE chat_id = 101 AND lane = 'answer' ORDER BY id`,
    );
    await h.settled();
    expect(
      h.rows(`SELECT text, status, error FROM inbox WHERE chat_id = 101 AND lane = 'answer' ORDER BY id`),
    ).toEqual([
      { text: 'slow question', status: 'skipped', error: 'stopped by the user' },
      { text: 'queued behind it', status: 'skipped', error: 'stopped by the user' },
      { text: 'and another', status: 'skipped', error: 'stopped by the user' },
    ]);
    expect(rows).toHaveLength(3);

    // the next message is answered, and nothing was ever sent for the stopped ones
    h.telegram.pushMessage(101, 'next');
    await h.telegram.waitForSent(2, 5000);
    expect(repliesTo(101)).toEqual([
      'Stopped the answer in progress and 2 waiting messages.',
      'answer to next',
    ]);
    expect(h.openai.requests).toHaveLength(2);
  });

  it('says so when there is nothing to stop', async () => {
    await h.start();
    h.telegram.pushMessage(101, '/stop');
    await h.telegram.waitForSent(1);
    expect(repliesTo(101)).toEqual(['Nothing to stop.']);
  });

  it('/new: the next model request holds no turn from before it', async () => {
    await h.start();
    h.telegram.pushMessage(101, 'my name is Ada');
    await h.telegram.waitForSent(1);
    h.telegram.pushMessage(101, '/new');
    await h.telegram.waitForSent(2);
    h.telegram.pushMessage(101, 'what is my name?');
    await h.telegram.waitForSent(3);
    const last = h.openai.requests.at(-1)!.body.messages;
    expect(last.map((m) => m.role)).toEqual(['system', 'user']);
    expect(JSON.stringify(last)).not.toContain('Ada');
    // the turns stay stored
    expect(h.rows(`SELECT text FROM history WHERE text = 'my name is Ada'`)).toHaveLength(1);
  });

  it('matches commands with or without the @botname suffix, and leaves other bots their commands', async () => {
    await h.start();
    await h.telegram.waitFor(() => h.telegram.callsOf('getMe').some((c) => c.status === 200), 5000, 'getMe');
    h.telegram.pushMessage(101, `/help@${h.telegram.bot.username}`);
    await h.telegram.waitForSent(1);
    expect(repliesTo(101)[0]).toMatch(/^Commands:\n\/start/);
    h.telegram.pushMessage(101, '/help@someone_else_bot');
    h.telegram.pushMessage(101, '/HELP');
    await h.telegram.waitForSent(2);
    await h.settled();
    expect(repliesTo(101)).toHaveLength(2);
    expect(h.rows(`SELECT error FROM inbox WHERE text = '/help@someone_else_bot'`)).toEqual([
      { error: 'a command for another bot' },
    ]);
  });

  it('points an unknown command to /help, and never asks the model for a command', async () => {
    await h.start();
    h.telegram.pushMessage(101, '/frobnicate now');
    await h.telegram.waitForSent(1);
    expect(repliesTo(101)).toEqual(['I do not know /frobnicate. /help lists the commands.']);
    expect(h.openai.requests).toHaveLength(0);
  });

  it('/model shows the model and sets one of OPENAI_MODELS, refusing others', async () => {
    await h.start({ OPENAI_MODEL: 'gpt-4o-mini', OPENAI_MODELS: 'gpt-4o-mini,gpt-4.1' });
    h.telegram.pushMessage(101, '/model');
    h.telegram.pushMessage(101, '/model gpt-9');
    h.telegram.pushMessage(101, '/model gpt-4.1');
    await h.telegram.waitForSent(3);
    expect(repliesTo(101)).toEqual([
      'Model: gpt-4o-mini. Available: gpt-4o-mini, gpt-4.1. Set one with /model NAME.',
      'gpt-9 is not offered here; choose one of: gpt-4o-mini, gpt-4.1.',
      'Model set to gpt-4.1.',
    ]);
  });

  it("/status names what waits, what runs, the model and the session's size", async () => {
    // a late answer on the fake's own timer, which its close() clears
    h.openai.failWhen((req) => lastUserText(req) === 'slow', { delayMs: 1500 });
    h.openai.setReply(() => 'ok');
    await h.start();
    h.telegram.pushMessage(101, 'slow');
    await h.openai.waitFor(() => h.openai.requests.length === 1, 5000, 'the model call');
    h.telegram.pushMessage(101, 'behind');
    await h.telegram.waitFor(() => h.rows(`SELECT 1 FROM inbox WHERE text = 'behind'`).length === 1, 5000);
    h.telegram.pushMessage(101, '/status');
    await h.telegram.waitForSent(1);
    const status = repliesTo(101)[0]!;
    expect(status).toMatch(
      /^Waiting: 1 message\nRunning: an answer for \d+ s\nModel: gpt-4o-mini\nSession: about \d+ tokens of a \d+-token window/,
    );
    expect(status).toMatch(/Last error: none$/);
  });

  it('answers a command from a chat that is not allowed with the private notice only: no model call, no stored text', async () => {
    await h.start();
    h.telegram.pushMessage(999, '/start');
    h.telegram.pushMessage(999, '/help');
    await h.telegram.waitForSent(1);
    await h.settled();
    expect(repliesTo(999)).toHaveLength(1);
    expect(repliesTo(999)[0]).toMatch(/This bot is private\. Your chat id is 999/);
    expect(h.rows(`SELECT text, status FROM inbox WHERE chat_id = 999`)).toEqual([
      { text: null, status: 'skipped' },
      { text: null, status: 'skipped' },
    ]);
    expect(h.openai.requests).toHaveLength(0);
  });
});
