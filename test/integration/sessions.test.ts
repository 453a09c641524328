import fs from 'node:fs';
import path from 'node:path';
import { lastUserText, type ChatCompletionRequest, type ChatMessage } from '../helpers/fake-openai';
import { waitUntil } from '../helpers/wait-until';
import { useWorkerHarness } from '../helpers/worker-harness';

// Sessions through the real worker (issue 16): the next run sees every step of the ones before,
// consecutive requests share their prefix byte for byte, AGENTS.md is in the prefix, a run that
// reads more than the window compacts and finishes, and a message sent during a run is steered
// into it (or, with AGENT_BUSY=queue, waits and is told so).

jest.setTimeout(60_000);
const h = useWorkerHarness();
const AGENT = { AGENT_APPROVAL: 'never' };

function project(): string {
  return path.join(path.dirname(h.dbPath), 'workspaces', 'default');
}

/** The project folder with `files` in it, before the worker starts (it git-inits it on first use). */
function seedProject(files: Record<string, string>): void {
  fs.mkdirSync(project(), { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(project(), name), text);
}

/** What the request sends, as bytes: each message and the tools, serialized as the client sent them. */
function sentMessages(req: ChatCompletionRequest): string[] {
  return req.messages.map((m: ChatMessage) => JSON.stringify(m));
}

/** Answers (in the chat) that reply to a message, not the status messages or notes. */
function answersTo(chatId: number, messageId: number, startsWith: string): number {
  return h.telegram
    .sentTo(chatId)
    .filter((m) => m.replyToMessageId === messageId && m.text.startsWith(startsWith)).length;
}

/** Prose of about `bytes` bytes, different for each `seed`. */
function prose(bytes: number, seed: number): string {
  const words = ['port', 'server', 'listen', 'config', 'handler', 'request', 'module', 'export', 'value'];
  let text = '';
  for (let i = 0; text.length < bytes; i++)
    text += `${words[(i * 7 + seed) % words.length]}${i % 13}${i % 10 === 9 ? '\n' : ' '}`;
  return text;
}

describe('sessions', () => {
  it("the second message's request holds the first run's tool calls and results, and every request extends the one before byte for byte", async () => {
    seedProject({ 'app.ts': 'export const port = 3000;\n' });
    h.openai.script([
      { toolCalls: [{ name: 'read', arguments: { path: 'app.ts' } }] },
      'It listens on port 3000.',
      (req) => {
        // the second run starts from everything the first did: no need to read again
        const tool = req.messages.find((m) => m.role === 'tool');
        expect(String(tool?.content)).toContain('export const port = 3000;');
        return {
          toolCalls: [{ name: 'edit', arguments: { path: 'app.ts', old_text: '3000', new_text: '8080' } }],
        };
      },
      'Changed it to 8080.',
    ]);
    await h.start(AGENT);
    const first = h.telegram.pushMessage(101, 'read app.ts');
    await h.telegram.waitFor(() => answersTo(101, first.message!.message_id, 'It listens') === 1, 20_000);
    await h.settled();
    const second = h.telegram.pushMessage(101, 'now change the port it listens on to 8080');
    await h.telegram.waitFor(() => answersTo(101, second.message!.message_id, 'Changed it') === 1, 20_000);
    await h.settled();

    const requests = h.openai.requests.map((r) => r.body);
    expect(requests).toHaveLength(4);
    const third = requests[2]!.messages;
    expect(third.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'user']);
    expect(third[1]!.content).toBe('read app.ts');
    expect((third[2]!.tool_calls as { function: { name: string } }[])[0]!.function.name).toBe('read');
    expect(third[4]!.content).toBe('It listens on port 3000.');
    expect(third[5]!.content).toBe('now change the port it listens on to 8080');
    // each request is the one before it and more: the provider's cache holds the whole prefix
    for (let i = 1; i < requests.length; i++) {
      const before = sentMessages(requests[i - 1]!);
      expect(sentMessages(requests[i]!).slice(0, before.length)).toEqual(before);
      expect(JSON.stringify(requests[i]!.tools)).toBe(JSON.stringify(requests[0]!.tools));
    }
    expect(fs.readFileSync(path.join(project(), 'app.ts'), 'utf8')).toBe('export const port = 8080;\n');
    // both runs are in one session
    expect(h.rows('SELECT count(DISTINCT session_id) AS n FROM agent_runs')).toEqual([{ n: 1 }]);
  });

  it('/new starts a new session: the next request holds nothing from before it', async () => {
    h.openai.script(['one', 'two']);
    await h.start(AGENT);
    h.telegram.pushMessage(101, 'first message');
    await h.telegram.waitFor(() => h.telegram.sentTo(101).some((m) => m.text === 'one'), 20_000);
    h.telegram.pushMessage(101, '/new');
    await h.telegram.waitFor(() => h.telegram.sentTo(101).length >= 2, 10_000);
    h.telegram.pushMessage(101, 'second message');
    await h.telegram.waitFor(() => h.telegram.sentTo(101).some((m) => m.text === 'two'), 20_000);
    expect(h.openai.requests[1]!.body.messages.map((m) => m.content)).toEqual([
      expect.any(String),
      'second message',
    ]);
  });

  it('AGENTS.md is in the prefix after the system prompt; a 40 KiB one is cut at 32 KiB with a note', async () => {
    seedProject({ 'AGENTS.md': `Use tabs.\n${'x'.repeat(40 * 1024)}\n` });
    h.openai.script(['ok']);
    await h.start(AGENT);
    h.telegram.pushMessage(101, 'hello');
    await h.telegram.waitFor(() => h.telegram.sentTo(101).some((m) => m.text === 'ok'), 20_000);
    const system = String(h.openai.requests[0]!.body.messages[0]!.content);
    expect(system).toMatch(/^You are/);
    expect(system).toContain('# Project instructions (AGENTS.md)\n\nUse tabs.\n');
    expect(system).toContain(
      '[AGENTS.md is 40971 bytes; only its first 32 KiB are shown. Read the file for the rest.]',
    );
    expect(system.length).toBeLessThan(34 * 1024);
  });

  it('a run that reads more than the window compacts between its steps and finishes', async () => {
    const files: Record<string, string> = {};
    for (let i = 1; i <= 8; i++) files[`part${i}.txt`] = prose(9_000, i);
    seedProject(files);
    const reads = Object.keys(files).map((name) => ({
      toolCalls: [{ name: 'read', arguments: { path: name } }],
    }));
    let summaries = 0;
    const requests: ChatCompletionRequest[] = [];
    h.openai.setReply(async (req) => {
      requests.push(req);
      if (lastUserText(req).startsWith('Summarize the conversation so far')) {
        summaries++;
        return '## Goal\nRead the parts.\n## Files\npart1.txt to part4.txt read: word lists.\n## Next step\nRead the rest.';
      }
      return reads.shift() ?? 'Read all eight parts.';
    });
    await h.start({ ...AGENT, AGENT_CONTEXT_TOKENS: '12000' });
    h.telegram.pushMessage(101, 'read every part');
    await h.telegram.waitFor(
      () => h.telegram.sentTo(101).some((m) => m.text.startsWith('Read all eight parts.')),
      30_000,
      'the answer',
    );
    await h.settled();
    expect(summaries).toBeGreaterThanOrEqual(1);
    expect(h.rows(`SELECT kind FROM compactions`).every((r) => r.kind === 'summary')).toBe(true);
    expect(h.rows(`SELECT status FROM agent_runs`)).toEqual([{ status: 'done' }]);
    // after a compaction the request starts with the summary, never with the first read
    const after = requests.at(-1)!;
    expect(String(after.messages[1]!.content)).toMatch(/^Summary of this session so far/);
    // no request went past the window (the fake's own rough count: 4 characters a token)
    for (const req of requests) expect(JSON.stringify(req.messages).length / 4).toBeLessThan(12_000);
  });

  it('a message sent during a 3-step run reaches the model before its last step; one answer, both items done', async () => {
    let second: ReturnType<typeof h.telegram.pushMessage> | undefined;
    h.openai.script([
      async () => {
        // the person writes again while the run works: stored before the run's next step
        second = h.telegram.pushMessage(101, 'also print the date');
        await waitUntil(
          () => h.rows(`SELECT 1 FROM inbox WHERE text = 'also print the date'`).length === 1,
          10_000,
          () => 'the second message was not stored',
        );
        return { toolCalls: [{ name: 'bash', arguments: { command: 'echo step one' } }] };
      },
      (req) => {
        const roles = req.messages.map((m) => m.role);
        expect(roles.slice(-2)).toEqual(['tool', 'user']);
        expect(lastUserText(req)).toBe('also print the date');
        return { toolCalls: [{ name: 'bash', arguments: { command: 'date +%Y' } }] };
      },
      'Done: printed step one and the year.',
    ]);
    await h.start(AGENT);
    const first = h.telegram.pushMessage(101, 'print step one');
    await h.telegram.waitFor(() => answersTo(101, first.message!.message_id, 'Done: printed') === 1, 20_000);
    await h.settled();
    expect(h.openai.requests).toHaveLength(3);
    // the steered message got a note, never an answer of its own
    const toSecond = h.telegram.sentTo(101).filter((m) => m.replyToMessageId === second!.message!.message_id);
    expect(toSecond.map((m) => m.text)).toEqual([
      'Added to the run in progress: its answer covers this message too.',
    ]);
    expect(h.rows(`SELECT text, status, reply FROM inbox ORDER BY id`)).toEqual([
      { text: 'print step one', status: 'done', reply: expect.stringMatching(/^Done: printed/) },
      { text: 'also print the date', status: 'done', reply: expect.stringMatching(/^Done: printed/) },
    ]);
    expect(h.rows(`SELECT kind, content FROM agent_steps WHERE kind = 'user'`)).toEqual([
      { kind: 'user', content: 'also print the date' },
    ]);
    expect(h.rows(`SELECT count(*) AS n FROM agent_runs`)).toEqual([{ n: 1 }]);
  });

  it('AGENT_BUSY=queue: a message sent during a run waits for the next run, in order, and the person is told', async () => {
    let second: ReturnType<typeof h.telegram.pushMessage> | undefined;
    h.openai.script([
      async () => {
        second = h.telegram.pushMessage(101, 'and then this');
        await h.telegram.waitFor(
          () => h.telegram.sentTo(101).some((m) => m.text.startsWith('This waits for the run in progress')),
          10_000,
          'the waiting notice',
        );
        return { toolCalls: [{ name: 'bash', arguments: { command: 'echo one' } }] };
      },
      (req) => {
        expect(req.messages.map((m) => m.content)).not.toContain('and then this');
        return 'first answer';
      },
      (req) => {
        expect(lastUserText(req)).toBe('and then this');
        return 'second answer';
      },
    ]);
    await h.start({ ...AGENT, AGENT_BUSY: 'queue' });
    const first = h.telegram.pushMessage(101, 'do one');
    await h.telegram.waitFor(
      () => answersTo(101, second?.message?.message_id ?? -1, 'second answer') === 1,
      20_000,
    );
    await h.settled();
    expect(answersTo(101, first.message!.message_id, 'first answer')).toBe(1);
    const notice = h.telegram.sentTo(101).find((m) => m.text.startsWith('This waits'))!;
    expect(notice.replyToMessageId).toBe(second!.message!.message_id);
    expect(notice.text).toContain('/stop');
    expect(h.rows(`SELECT count(*) AS n FROM agent_steps WHERE kind = 'user'`)).toEqual([{ n: 0 }]);
  });
});
