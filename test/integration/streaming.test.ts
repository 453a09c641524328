import { runCli } from '../helpers/run-cli';
import { useWorkerHarness } from '../helpers/worker-harness';

// Streamed answers and usage through the real worker, the real clients and the fakes.

const h = useWorkerHarness();
const GROUP = -100777;
const LONG = 'The answer grows word by word, as the model writes it, and arrives whole at the end.';

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { TG_ALLOWED_CHAT_IDS: `101,${GROUP}`, TG_DRAFT_INTERVAL_MS: '100', ...extra };
}

describe('streamed answers', () => {
  beforeEach(() => {
    h.openai.setReply(() => LONG);
    h.openai.setStreaming({ chunkSize: 6, chunkDelayMs: 40 });
  });

  it("drafts a private chat's answer at least twice, then sends exactly one final answer equal to the whole text", async () => {
    await h.start(env());
    h.telegram.pushMessage(101, 'tell me');
    await h.telegram.waitForSent(1);
    await h.settled();
    const drafts = h.telegram.drafts.filter((d) => d.chatId === 101);
    expect(drafts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(drafts.map((d) => d.text)).size).toBe(drafts.length);
    expect(drafts.every((d) => d.at < h.telegram.sent[0]!.at)).toBe(true);
    expect(h.telegram.sentTo(101).map((m) => m.text)).toEqual([LONG]);
    expect(h.openai.requests[0]!.body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('sends no draft in a group: the typing indicator only', async () => {
    h.openai.setStreaming({ chunkSize: 6, chunkDelayMs: 80 });
    await h.start(env());
    h.telegram.pushMessage(GROUP, 'tell us');
    await h.telegram.waitForSent(1);
    expect(h.telegram.drafts).toHaveLength(0);
    expect(h.telegram.callsOf('sendChatAction').length).toBeGreaterThanOrEqual(1);
    expect(h.telegram.sentTo(GROUP).map((m) => m.text)).toEqual([LONG]);
  });

  it("still answers when Telegram does not know sendMessageDraft, and stops drafting for the worker's lifetime", async () => {
    h.telegram.setMethodUnknown('sendMessageDraft');
    await h.start(env());
    h.telegram.pushMessage(101, 'first');
    await h.telegram.waitForSent(1);
    h.telegram.pushMessage(101, 'second');
    await h.telegram.waitForSent(2);
    expect(h.telegram.sentTo(101).map((m) => m.text)).toEqual([LONG, LONG]);
    expect(h.telegram.callsOf('sendMessageDraft')).toHaveLength(1);
  });

  it('TG_STREAM=off sends no drafts', async () => {
    await h.start(env({ TG_STREAM: 'off' }));
    h.telegram.pushMessage(101, 'tell me');
    await h.telegram.waitForSent(1);
    expect(h.telegram.callsOf('sendMessageDraft')).toHaveLength(0);
  });

  it('honours a 429 on a draft by skipping drafts, never delaying the answer', async () => {
    h.telegram.failNext('sendMessageDraft', {
      errorCode: 429,
      description: 'Too Many Requests: retry after 30',
      retryAfter: 30,
    });
    await h.start(env());
    const t0 = Date.now();
    h.telegram.pushMessage(101, 'tell me');
    await h.telegram.waitForSent(1);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(h.telegram.callsOf('sendMessageDraft')).toHaveLength(1);
  });
});

describe('usage', () => {
  it('records the tokens the model reported, and /usage shows them with the cached share', async () => {
    h.openai.setReply(() => ({ content: 'counted', usage: { promptTokens: 1000, cachedTokens: 870 } }));
    await h.start();
    h.telegram.pushMessage(101, 'count this');
    await h.telegram.waitForSent(1);
    await h.settled();
    const reported = h.openai.requests[0]!.response!.usage!;
    expect(h.rows('SELECT chat_id, model, prompt_tokens, completion_tokens FROM usage')).toEqual([
      {
        chat_id: 101,
        model: expect.any(String),
        prompt_tokens: reported.promptTokens,
        completion_tokens: reported.completionTokens,
      },
    ]);
    h.telegram.pushMessage(101, '/usage');
    await h.telegram.waitForSent(2);
    const total = reported.promptTokens + reported.completionTokens;
    expect(h.telegram.sentTo(101)[1]!.text).toContain(
      `Today: ${total} tokens (1000 in, ${reported.completionTokens} out), cached 87%`,
    );
  });

  it('autonous usage --json matches the tokens the fake model reported, per chat and model', async () => {
    h.openai.setReply(() => ({
      content: 'priced',
      usage: { promptTokens: 1000, completionTokens: 500, cachedTokens: 250 },
    }));
    await h.start({ OPENAI_PRICES: 'gpt-4o-mini=0.15/0.60' });
    h.telegram.pushMessage(101, 'a');
    h.telegram.pushMessage(101, 'b');
    h.telegram.pushMessage(102, 'c');
    await h.telegram.waitForSent(3);
    await h.settled();
    const result = await runCli(['--db', h.dbPath, '--json', 'usage', '--since', '1h'], {
      AUTONOUS_ENV_FILE: '/dev/null',
      OPENAI_PRICES: 'gpt-4o-mini=0.15/0.60',
    });
    expect(result.code).toBe(0);
    const model = 'gpt-4o-mini';
    expect(JSON.parse(result.stdout)).toEqual([
      {
        chatId: 101,
        model,
        answers: 2,
        promptTokens: 2000,
        completionTokens: 1000,
        cachedTokens: 500,
        cachedShare: 0.25,
        costUsd: expect.closeTo(0.0009, 9),
      },
      {
        chatId: 102,
        model,
        answers: 1,
        promptTokens: 1000,
        completionTokens: 500,
        cachedTokens: 250,
        cachedShare: 0.25,
        costUsd: expect.closeTo(0.00045, 9),
      },
    ]);
    const one = await runCli(['--db', h.dbPath, 'usage', '--chat', '102'], {
      AUTONOUS_ENV_FILE: '/dev/null',
    });
    expect(one.stdout).toMatch(/CHAT\s+MODEL\s+ANSWERS/);
    expect(one.stdout).toMatch(/CACHED\s+CACHED %\s+COST USD/);
    expect(one.stdout).toMatch(/102\s+\S+\s+1\s+1000\s+500\s+250\s+25%/);
  });

  it('a chat over WORKER_DAILY_TOKENS_PER_CHAT gets a notice instead of a model call', async () => {
    await h.start({ WORKER_DAILY_TOKENS_PER_CHAT: '1' });
    h.telegram.pushMessage(101, 'first is answered');
    await h.telegram.waitForSent(1);
    h.telegram.pushMessage(101, 'second is over the limit');
    await h.telegram.waitForSent(2);
    await h.settled();
    expect(h.openai.requests).toHaveLength(1);
    expect(h.telegram.sentTo(101)[1]!.text).toMatch(/used its 1 tokens for today/);
    expect(h.rows(`SELECT status, error FROM inbox WHERE text = 'second is over the limit'`)).toEqual([
      { status: 'skipped', error: 'over the daily token limit (WORKER_DAILY_TOKENS_PER_CHAT)' },
    ]);
  });
});
