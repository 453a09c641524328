import { storeBatch } from '../../src/queue/enqueue';
import type { InboxRow } from '../../src/queue/row';
import { sqliteStore, type Store } from '../../src/queue/store';
import { ContextTooLongError } from '../../src/worker/errors';
import { AgentRunHandler, type RunTelegram } from '../../src/worker/handlers/agent-run';
import { DEFAULT_LIMITS } from '../../src/agent/loop';
import { toJournalStep } from '../../src/queue/agent/rows';
import { runSteps } from '../../src/queue/agent/run-steps';
import { createSqliteJournal } from '../../src/queue/agent/sqlite-journal';
import { StatusPace } from '../../src/worker/status-pace';
import type { AgentMessage, ModelPort, ModelResponse } from '../../src/agent/ports';
import { DraftSupport } from '../../src/worker/draft-stream';
import type { SendOptions } from '../../src/worker/telegram/client';
import { openTempDb, removeTempDir, type TempDb } from '../helpers/temp-db';
import { captureLog } from '../helpers/worker-harness';

// A plain answer (AGENT_TOOLS=off): the run handler with no tools and its ports injected: a
// recording Telegram, a scripted model, a real store and journal on a temp database. No HTTP.

let db: TempDb;
let store: Store;
beforeEach(() => {
  db = openTempDb();
  store = sqliteStore(db.sqlite);
});
afterEach(() => {
  db.close();
  removeTempDir(db.dir);
});

interface Sent {
  chatId: number;
  text: string;
  options: SendOptions;
}

function recordingTelegram(): RunTelegram & {
  sent: Sent[];
  typing: number;
  drafts: { chatId: number; text: string }[];
} {
  const telegram = {
    sent: [] as Sent[],
    typing: 0,
    async sendMessage(chatId: number, text: string, options: SendOptions): Promise<number> {
      telegram.sent.push({ chatId, text, options });
      return telegram.sent.length;
    },
    async sendTyping(): Promise<void> {
      telegram.typing++;
    },
    async sendMessageDraft(chatId: number, _draftId: number, text: string): Promise<void> {
      telegram.drafts.push({ chatId, text });
    },
    drafts: [] as { chatId: number; text: string }[],
    async sendDocument(): Promise<number> {
      throw new Error('a plain answer sends no files');
    },
    async sendPhoto(): Promise<number> {
      throw new Error('a plain answer sends no files');
    },
    async editMessageText(): Promise<boolean> {
      throw new Error('a plain answer has no status message');
    },
  };
  return telegram;
}

function claimed(text: string, chatId = 7): InboxRow {
  const updateId = Math.floor(Math.random() * 1e9);
  storeBatch(
    db.sqlite,
    [{ updateId, chatId, messageId: 55, kind: 'text', text, sentAt: Date.now(), status: 'queued' }],
    updateId + 1,
    Date.now(),
  );
  return store.claim(Date.now(), 'answer')!;
}

/** A model answer with made-up usage. */
function answer(content: string): ModelResponse {
  return {
    content,
    toolCalls: [],
    usage: { promptTokens: 10, completionTokens: 3, cachedTokens: 0 },
    model: 'gpt-test',
    finishReason: 'stop',
  };
}

function handler(
  telegram: RunTelegram,
  model: ModelPort,
  contextTokens = 0,
  drafts: { support: DraftSupport; intervalMs: number } | null = null,
): AgentRunHandler {
  return new AgentRunHandler({
    store,
    telegram,
    model,
    modelFor: () => 'gpt-test',
    acceptsImages: () => false,
    drafts,
    log: captureLog(),
    systemPrompt: 'be brief',
    showThinking: false,
    dailyTokensPerChat: 0,
    now: Date.now,
    tools: [],
    runsDir: db.dir,
    journal: createSqliteJournal(db.sqlite),
    runSteps: (runId) => runSteps(db.sqlite, runId).map(toJournalStep),
    limits: DEFAULT_LIMITS,
    approval: { mode: 'on-risk', sandboxed: false, timeoutSeconds: 60 },
    statusPace: new StatusPace(),
    sessions: {
      sessionFrom: () => 0,
      contextTokens,
      promptCacheKey: false,
      answerSteered: (runId, reply) => store.answerSteered(runId, reply),
      cachedWeight: () => 1,
      instructions: async () => null,
    },
  });
}

const signal = new AbortController().signal;

describe('a plain answer: AgentRunHandler with no tools', () => {
  it('asks the model once with the session so far, stores the answer before sending it, and replies to the message', async () => {
    const first = claimed('what is 2+2?');
    await handler(recordingTelegram(), async () => answer('4')).handle(first, signal);
    store.complete(first, '4', Date.now());
    const item = claimed('and times 3?');
    const asked: AgentMessage[][] = [];
    const telegram = recordingTelegram();
    const sentBeforeStored: boolean[] = [];
    const model: ModelPort = async (messages) => {
      asked.push([...messages]);
      return answer('**12**');
    };
    const original = telegram.sendMessage.bind(telegram);
    telegram.sendMessage = async (chatId, text, options) => {
      const stored = db.sqlite.prepare('SELECT reply FROM inbox WHERE id = ?').pluck().get(item.id);
      sentBeforeStored.push(stored !== '**12**');
      return original(chatId, text, options);
    };

    const outcome = await handler(telegram, model).handle(item, signal);

    expect(outcome).toEqual({ kind: 'done', reply: '**12**' });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'what is 2+2?' },
      { role: 'assistant', content: '4' },
      { role: 'user', content: 'and times 3?' },
    ]);
    expect(sentBeforeStored).toEqual([false]);
    expect(telegram.sent).toEqual([{ chatId: 7, text: '<b>12</b>', options: { html: true, replyTo: 55 } }]);
  });

  it('sends a stored answer without asking the model again, from the first part Telegram did not accept', async () => {
    const item = claimed('long one');
    const long = `${'a'.repeat(3000)}\n\n${'b'.repeat(3000)}\n\n${'c'.repeat(3000)}`;
    store.storeReply(item.id, long);
    store.markPartsSent(item.id, 1);
    const retried = { ...item, reply: long, replyPartsSent: 1 };
    const telegram = recordingTelegram();
    const model: ModelPort = async () => {
      throw new Error('the model must not be asked');
    };

    await handler(telegram, model).handle(retried, signal);

    expect(telegram.sent.map((s) => s.text[0])).toEqual(['b', 'c']);
    expect(db.sqlite.prepare('SELECT reply_parts_sent FROM inbox WHERE id = ?').pluck().get(item.id)).toBe(3);
  });

  it('compacts the session and asks once more when the model finds the request too long', async () => {
    const old = claimed(`first ${'x'.repeat(4000)}`);
    await handler(recordingTelegram(), async () => answer(`second ${'y'.repeat(4000)}`)).handle(old, signal);
    store.complete(old, 'y', Date.now());
    const item = claimed('short');
    const asked: AgentMessage[][] = [];
    const model: ModelPort = async (messages) => {
      asked.push([...messages]);
      if (asked.length === 1) throw new ContextTooLongError('too long');
      if (asked.length === 2) return answer('## Goal\nthe person sent x and got y');
      return answer('ok');
    };
    const outcome = await handler(recordingTelegram(), model).handle(item, signal);
    expect(outcome).toEqual({ kind: 'done', reply: 'ok' });
    expect(asked).toHaveLength(3);
    // the refused request held the whole session; the summary's request, the part before the cut
    expect(asked[0]!.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(asked[1]!.at(-1)!.content).toMatch(/^Summarize the conversation so far/);
    // the retry: the summary in place of the earlier run, then the new message
    expect(asked[2]).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: expect.stringContaining('the person sent x and got y') },
      { role: 'user', content: 'short' },
    ]);
    expect(db.sqlite.prepare('SELECT kind FROM compactions').pluck().all()).toEqual(['summary']);
  });

  it('shows typing only while a slow model thinks', async () => {
    const quick = recordingTelegram();
    await handler(quick, async () => answer('fast')).handle(claimed('a', 1), signal);
    expect(quick.typing).toBe(0);

    const slow = recordingTelegram();
    await handler(slow, () => new Promise((r) => setTimeout(() => r(answer('slow')), 800))).handle(
      claimed('b', 2),
      signal,
    );
    expect(slow.typing).toBe(1);
  });

  it("records the answer's usage with the answer, before the first send", async () => {
    const item = claimed('count me');
    const telegram = recordingTelegram();
    const original = telegram.sendMessage.bind(telegram);
    let usageAtSend: unknown[] = [];
    telegram.sendMessage = async (chatId, text, options) => {
      usageAtSend = db.sqlite.prepare('SELECT model, prompt_tokens, completion_tokens FROM usage').all();
      return original(chatId, text, options);
    };
    await handler(telegram, async () => answer('counted')).handle(item, signal);
    expect(usageAtSend).toEqual([{ model: 'gpt-test', prompt_tokens: 10, completion_tokens: 3 }]);
  });

  it('drafts the growing text in a private chat at its pace, never the same text twice; none in a group', async () => {
    const streaming: ModelPort = async (_messages, _tools, options) => {
      let text = '';
      for (const word of ['one ', 'two ', 'three ', 'four']) {
        text += word;
        options?.onText?.(text);
        await new Promise((r) => setTimeout(r, 60));
      }
      return answer(text);
    };
    const drafts = { support: new DraftSupport(), intervalMs: 100 };
    const personal = recordingTelegram();
    await handler(personal, streaming, 12000, drafts).handle(claimed('stream', 5), signal);
    expect(personal.drafts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(personal.drafts.map((d) => d.text)).size).toBe(personal.drafts.length);
    expect(personal.sent.map((m) => m.text)).toEqual(['one two three four']);

    const group = recordingTelegram();
    await handler(group, streaming, 12000, drafts).handle(claimed('stream', -100123), signal);
    expect(group.drafts).toHaveLength(0);
    expect(group.sent).toHaveLength(1);
  });

  it('journals a plain answer as a finished run of one model step, in no project', async () => {
    const item = claimed('hello');
    await handler(recordingTelegram(), async () => answer('hi')).handle(item, signal);
    const run = store.runOfItem(item.id)!;
    expect(run).toMatchObject({ status: 'done', project: '' });
    expect(runSteps(db.sqlite, run.id).map((s) => s.kind)).toEqual(['model']);
  });
});
