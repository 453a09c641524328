import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SUMMARY_REQUEST_OPENING } from '../../src/agent/compaction';
import { SUMMARY_OPENING } from '../../src/agent/context-builder';
import { INTERRUPTED_RESULT } from '../../src/agent/ports';
import { STEERED_NOTICE } from '../../src/worker/handlers/agent-run';
import { lastUserText, type ChatCompletionRequest, type ChatMessage } from '../helpers/fake-openai';
import { killAndRespawn, usePm2World } from '../helpers/pm2-world';
import { waitUntil } from '../helpers/wait-until';

// Sessions under the real PM2 (a temporary PM2_HOME, always reaped) with the built worker: a
// message steered into a run and a compaction's summary, each across SIGKILLs at the instants
// where a message could be lost or answered twice, or a summary asked again. Every kill waits for
// an event (a row in the journal, a request held at the fake), never for time.

const WORKER = 'autonous-worker';
const CHAT = 101;
jest.setTimeout(90_000);

const w = usePm2World();

function project(): string {
  return path.join(path.dirname(w.dbPath), 'workspaces', 'default');
}

function rows<T>(sql: string): T[] {
  if (!fs.existsSync(w.dbPath)) return [];
  const db = new Database(w.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } catch {
    return []; // before the migration
  } finally {
    db.close();
  }
}

interface StepRow {
  kind: string;
  tool: string | null;
  status: string | null;
  inbox_id: number | null;
}

function steps(): StepRow[] {
  return rows<StepRow>('SELECT kind, tool, status, inbox_id FROM agent_steps ORDER BY run_id, seq');
}

function text(m: ChatMessage): string {
  const c = m.content;
  if (typeof c === 'string') return c;
  return Array.isArray(c) ? c.map((p) => p.text ?? '').join('') : '';
}

function userTexts(req: ChatCompletionRequest): string[] {
  return req.messages.filter((m) => m.role === 'user').map(text);
}

function isSummaryRequest(req: ChatCompletionRequest): boolean {
  return lastUserText(req).startsWith(SUMMARY_REQUEST_OPENING);
}

function isCompacted(req: ChatCompletionRequest): boolean {
  const second = req.messages[1];
  return second?.role === 'user' && text(second).startsWith(SUMMARY_OPENING);
}

/** The files the request's assistant messages asked `read` for, in order. */
function filesRead(req: ChatCompletionRequest): string[] {
  return req.messages.flatMap((m) =>
    Array.isArray(m.tool_calls)
      ? (m.tool_calls as { function: { name: string; arguments: string } }[])
          .filter((c) => c.function.name === 'read')
          .map((c) => String((JSON.parse(c.function.arguments) as { path: string }).path))
      : [],
  );
}

/** SIGKILLs the worker (it must be running now) and waits for PM2's new one. */
function killWorker(): Promise<void> {
  return killAndRespawn(w.pm2, WORKER);
}

describe('sessions under PM2', () => {
  it('a message steered into a 3-step run survives SIGKILLs before and after it is taken: one answer, one note, both items done', async () => {
    const A = 'run a slow command, then read notes.txt';
    const B = 'and also tell me what notes.txt says about the colour';
    fs.mkdirSync(project(), { recursive: true });
    fs.writeFileSync(path.join(project(), 'notes.txt'), 'the colour is blue\n');
    w.openai.script([
      // held by the kill: `sleep 30` is still running when the worker dies, whatever the load
      { toolCalls: [{ name: 'bash', arguments: { command: 'sleep 30' } }] },
      { toolCalls: [{ name: 'read', arguments: { path: 'notes.txt' } }] },
      (req) => `FINAL-ANSWER to ${userTexts(req).length} user messages`,
    ]);
    await w.start({ AGENT_APPROVAL: 'never' });

    const a = w.telegram.pushMessage(CHAT, A);
    await waitUntil(
      () => steps().some((s) => s.tool === 'bash' && s.status === 'running'),
      30_000,
      () => `the bash call running: ${JSON.stringify(steps())}`,
    );
    // B arrives while step 1's command runs: stored, waiting, not yet taken (steering happens
    // only once the calls in flight settle, and this one sleeps for 30 s)
    const b = w.telegram.pushMessage(CHAT, B);
    await waitUntil(
      () => w.inbox().some((r) => r.text === B && r.status === 'queued'),
      20_000,
      () => `B queued: ${JSON.stringify(w.inbox())}`,
    );
    expect(steps().filter((s) => s.kind === 'user')).toEqual([]);
    // the request that carries B is held unanswered, so the second kill falls after B was taken
    // into the run (its item done, its user step journalled) and before the run's next step
    w.openai.failNext({ hang: true }, 1, (req) => userTexts(req).includes(B));

    // kill 1: B waits in the inbox, the run is between its first response and its next step
    await killWorker();

    await w.openai.waitFor(
      () => w.openai.requestsFor((req) => userTexts(req).includes(B)).length === 1,
      30_000,
      'the run asking the model with B after the restart',
    );
    await w.telegram.waitFor(
      () => w.telegram.sentTo(CHAT).some((m) => m.text === STEERED_NOTICE),
      10_000,
      'the note that B was added to the run',
    );
    expect(w.inbox().find((r) => r.text === B)?.status).toBe('done');

    // kill 2: B is in the run's journal, the model's answer with it not yet stored
    await killWorker();

    await w.telegram.waitFor(
      () => w.telegram.sentTo(CHAT).some((m) => m.text.startsWith('FINAL-ANSWER')),
      40_000,
      'the run answering after the restarts',
    );
    await waitUntil(
      () => w.inbox().length === 2 && w.inbox().every((r) => r.status === 'done'),
      10_000,
      () => JSON.stringify(w.inbox()),
    );

    const requests = w.openai.requests.map((r) => r.body);
    // one run: every request starts with A, none was made for B on its own
    expect(requests.length).toBe(4);
    for (const req of requests) expect(userTexts(req)[0]).toBe(A);
    // B reached the model after step 1's result, before the run's last step
    const withB = requests.map((req) => userTexts(req).includes(B));
    expect(withB).toEqual([false, true, true, true]);
    const held = requests[1]!;
    const bAt = held.messages.findIndex((m) => m.role === 'user' && text(m) === B);
    expect(held.messages[bAt - 1]).toMatchObject({ role: 'tool', content: INTERRUPTED_RESULT });
    expect(w.openai.requests[1]!.status).toBeUndefined(); // held, never answered
    // the request asked again after kill 2 is the held one, byte for byte
    expect(JSON.stringify(requests[2]!.messages)).toBe(JSON.stringify(held.messages));
    expect(w.openai.requests[2]!.response?.toolCalls.map((c) => c.name)).toEqual(['read']);
    expect(w.openai.requests[3]!.response?.toolCalls).toEqual([]);

    // the person: one answer, to A; one note, to B; nothing else replying to B
    const sent = w.telegram.sentTo(CHAT);
    const answers = sent.filter((m) => m.text.startsWith('FINAL-ANSWER'));
    expect(answers.map((m) => [m.text.split('\n')[0], m.replyToMessageId])).toEqual([
      ['FINAL-ANSWER to 2 user messages', a.message!.message_id],
    ]);
    const toB = sent.filter((m) => m.replyToMessageId === b.message!.message_id);
    expect(toB.map((m) => m.text)).toEqual([STEERED_NOTICE]);

    const bItem = w.inbox().find((r) => r.text === B)!;
    expect(rows<{ n: number }>('SELECT count(*) AS n FROM agent_runs')[0]?.n).toBe(1);
    expect(rows<{ status: string }>('SELECT status FROM agent_runs').map((r) => r.status)).toEqual(['done']);
    expect(steps().filter((s) => s.kind === 'user')).toEqual([
      { kind: 'user', tool: null, status: null, inbox_id: bItem.id },
    ]);
    expect(steps().map((s) => [s.kind, s.tool, s.status])).toEqual([
      ['model', null, null],
      ['tool', 'bash', 'interrupted'],
      ['user', null, null],
      ['model', null, null],
      ['tool', 'read', 'done'],
      ['model', null, null],
    ]);
    // B's item is answered by the run's answer, never taken as a message of its own
    expect(bItem.attempts).toBe(1);
    expect(rows<{ reply: string }>(`SELECT reply FROM inbox WHERE id = ${bItem.id}`)[0]?.reply).toMatch(
      /^FINAL-ANSWER/,
    );
  });

  it('a compaction summary is asked once more after a kill during it, and never again once stored', async () => {
    // about 3,200 tokens a read (9 KB as numbered lines) by the worker's estimate: a 12,000-token
    // window (compacting at 9,000) is passed after the third read
    fs.mkdirSync(project(), { recursive: true });
    const files = ['f1.ts', 'f2.ts', 'f3.ts', 'f4.ts', 'f5.ts', 'f6.ts'];
    for (const [n, file] of files.entries()) {
      let body = '';
      for (let i = 0; body.length < 9000; i++) {
        body += `export function step${n}_${i}(input: number): number {\n  return input * ${i * 7 + n} + offset[${i}];\n}\n`;
      }
      fs.writeFileSync(path.join(project(), file), body);
    }
    fs.writeFileSync(path.join(project(), 'notes.txt'), 'short notes\n');

    // a function of the request alone, so a request asked again after a kill gets the same reply
    w.openai.setReply((req) => {
      if (isSummaryRequest(req)) {
        return '## Goal\nread the files\n## Files\nf1.ts to f3.ts read: small pure functions\n## Next step\nread notes.txt';
      }
      if (isCompacted(req)) {
        return filesRead(req).includes('notes.txt')
          ? 'FINAL-ANSWER after the compaction'
          : { toolCalls: [{ name: 'read', arguments: { path: 'notes.txt' } }] };
      }
      const next = files[filesRead(req).length];
      if (next === undefined) return 'FINAL-ANSWER without a compaction';
      return { toolCalls: [{ name: 'read', arguments: { path: next } }] };
    });
    // the first summary request is held (kill 1 falls during it); the first request after the
    // compaction is held until kill 2 (which falls after the summary was stored)
    w.openai.failNext({ hang: true }, 1, isSummaryRequest);
    const releaseCompacted = w.openai.failWhen((req) => isCompacted(req) && !isSummaryRequest(req), {
      hang: true,
    });
    await w.start({ AGENT_APPROVAL: 'never', AGENT_CONTEXT_TOKENS: '12000' });

    w.telegram.pushMessage(CHAT, 'read the files one by one');
    await w.openai.waitFor(
      () => w.openai.requestsFor(isSummaryRequest).length === 1,
      30_000,
      'the first summary request',
    );
    expect(rows('SELECT id FROM compactions')).toEqual([]);

    // kill 1: during the summary call, nothing stored yet
    await killWorker();

    await w.openai.waitFor(
      () => w.openai.requestsFor((req) => isCompacted(req) && !isSummaryRequest(req)).length === 1,
      30_000,
      'the summary asked again and the next step asked with it',
    );
    expect(rows('SELECT id FROM compactions')).toHaveLength(1);

    // kill 2: the summary stored, the next model call in flight
    releaseCompacted();
    await killWorker();

    await w.telegram.waitFor(
      () => w.telegram.sentTo(CHAT).some((m) => m.text.startsWith('FINAL-ANSWER')),
      40_000,
      'the run answering after the restarts',
    );
    await waitUntil(
      () => w.inbox().length === 1 && w.inbox()[0]!.status === 'done',
      10_000,
      () => JSON.stringify(w.inbox()),
    );

    const records = w.openai.requests;
    const summaries = records.filter((r) => isSummaryRequest(r.body));
    // two summary requests in all: the one the kill cut short, and the one answered
    expect(summaries.map((r) => r.status)).toEqual([undefined, 200]);
    expect(JSON.stringify(summaries[1]!.body.messages)).toBe(JSON.stringify(summaries[0]!.body.messages));
    for (const r of summaries) expect(r.body.tool_choice).toBe('none');

    const compactions = rows<{ kind: string; summary: string }>('SELECT kind, summary FROM compactions');
    expect(compactions.map((c) => c.kind)).toEqual(['summary']);
    expect(compactions[0]!.summary).toContain('## Goal');

    // after it, every request starts with the system prompt and the summary
    const after = records.slice(records.indexOf(summaries[1]!) + 1);
    expect(after.length).toBe(3); // held, asked again after kill 2 (reads notes.txt), the answer
    for (const r of after) {
      expect(r.body.messages[0]?.role).toBe('system');
      expect(r.body.messages[1]?.role).toBe('user');
      expect(text(r.body.messages[1]!).slice(0, SUMMARY_OPENING.length)).toBe(SUMMARY_OPENING);
    }
    expect(after[0]!.status).toBeUndefined();
    expect(JSON.stringify(after[1]!.body.messages)).toBe(JSON.stringify(after[0]!.body.messages));

    const answers = w.telegram.sentTo(CHAT).filter((m) => m.text.startsWith('FINAL-ANSWER'));
    expect(answers.map((m) => m.text.split('\n')[0])).toEqual(['FINAL-ANSWER after the compaction']);
    expect(rows<{ status: string }>('SELECT status FROM agent_runs').map((r) => r.status)).toEqual(['done']);

    // every answered request stayed under the window by the fake's own count; a held one is
    // byte for byte a request that was answered (checked above), so it is under too
    for (const r of records.filter((r) => r.response !== undefined)) {
      expect(r.response!.usage.promptTokens).toBeLessThan(12_000);
    }
  });
});
