import fs from 'node:fs';
import path from 'node:path';
import { CUT_OFF_CALL_RESULT, CUT_OFF_EMPTY, CUT_OFF_NOTE } from '../../src/agent/loop';
import { lastUserText, type RecordedHttpResponse, type Reply, type ReplyFn } from '../helpers/fake-openai';
import { RECORDINGS } from '../helpers/provider-recordings';
import { useWorkerHarness } from '../helpers/worker-harness';

// Every response recorded from a real OpenAI-compatible server (../shared/recordings/providers,
// described by its index.json) replayed byte for byte through the real worker: its SDK client
// parses what the real server sent, its agent loop runs the recorded tool calls, its queue
// retries what deserves it, and the fake Telegram shows what the person got.
//
// Each recording plays its responses in order (first, then the retry, then the follow-up); a
// request after the last one gets a plain text answer of the fake's own (FILLER), so a run whose
// recording ends with its tool calls can end: a real server would answer the tool results, and no
// recording of that answer exists. An error recording answers every try with its error instead,
// as a server refusing a request refuses it again, so the reply the person gets is what the
// worker does once the error is final, whichever fate it gives it.

jest.setTimeout(60_000);
const h = useWorkerHarness();

const CHAT = 101;
const ASKED = 'What is the weather in San Francisco?';
const FILLER = 'That is all the recorded server said; this answer ends the run.';
/** The message that shows the worker is still up after a recording, and its scripted answer. */
const SECOND = 'Are you still there?';
const SECOND_ANSWER = 'Still here.';
/** The answer of a synthetic retry (a recording that names the shape of its retry, not its body). */
const SYNTHETIC_ANSWER = 'The retry after the rate limit got through.';

/** How each recording's case should end, as index.json names it. */
type Expectation = 'answer' | 'tools' | 'retry-then-answer' | 'error-reply';

interface RecordedPart {
  readonly file?: string;
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly synthetic?: boolean;
  readonly shapeFrom?: string;
}

interface Recording {
  readonly name: string;
  readonly provider: string;
  readonly model: string;
  readonly case: string;
  readonly responses: Readonly<Record<string, RecordedPart>>;
  readonly expect: Expectation;
  readonly rule?: string;
}

const recordings = (
  JSON.parse(fs.readFileSync(path.join(RECORDINGS, 'index.json'), 'utf8')) as { recordings: Recording[] }
).recordings;

/** The order a recording's responses answer the requests in. */
const PLAY_ORDER = ['first', 'retry', 'followUp'];

/** One played response: what is sent, and what the recording says it holds. */
interface Played {
  readonly key: string;
  readonly http: RecordedHttpResponse;
  /** The JSON body, or each `data:` payload of a stream, parsed. */
  readonly payloads: readonly Record<string, unknown>[];
}

function played(recording: Recording): Played[] {
  const unknown = Object.keys(recording.responses).filter((key) => !PLAY_ORDER.includes(key));
  if (unknown.length > 0) throw new Error(`${recording.name}: responses ${unknown.join(', ')} have no place`);
  return PLAY_ORDER.flatMap((key) => {
    const part = recording.responses[key];
    if (part === undefined) return [];
    const http = part.synthetic === true ? synthetic(recording, part) : recorded(part);
    return [{ key, http, payloads: payloadsOf(http) }];
  });
}

function recorded(part: RecordedPart): RecordedHttpResponse {
  if (part.file === undefined || part.status === undefined) throw new Error('a recorded part names no file');
  return {
    status: part.status,
    headers: part.headers ?? {},
    body: fs.readFileSync(path.join(RECORDINGS, part.file)),
  };
}

/** A short text answer streamed in the shape of OpenRouter's recorded stream (the only shape asked for). */
function synthetic(recording: Recording, part: RecordedPart): RecordedHttpResponse {
  const shape = recordings.find((r) => r.name === part.shapeFrom);
  if (part.shapeFrom !== 'openrouter-stream-reasoning' || shape === undefined)
    throw new Error(`${recording.name}: no synthetic response in the shape of ${part.shapeFrom}`);
  const chunk = (delta: Record<string, unknown>, finish: string | null, extra = {}): string =>
    `data: ${JSON.stringify({
      id: 'gen-1765226500-synthetic0000000000',
      provider: 'Google',
      model: recording.model,
      object: 'chat.completion.chunk',
      created: 1765226500,
      choices: [{ index: 0, delta, finish_reason: finish, native_finish_reason: finish, logprobs: null }],
      ...extra,
    })}`;
  const events = [
    ': OPENROUTER PROCESSING',
    chunk({ role: 'assistant', content: SYNTHETIC_ANSWER, reasoning: null, reasoning_details: [] }, null),
    chunk({ role: 'assistant', content: '', reasoning: null, reasoning_details: [] }, 'stop'),
    // OpenRouter's usage comes after the finish chunk, beside a choice of its own
    chunk({ role: 'assistant', content: '' }, null, {
      usage: { prompt_tokens: 40, completion_tokens: 9, total_tokens: 49, cost: 0, is_byok: false },
    }),
    'data: [DONE]',
  ];
  const headers = shape.responses.first?.headers ?? { 'content-type': 'text/event-stream' };
  return { status: 200, headers, body: Buffer.from(`${events.join('\n\n')}\n\n`) };
}

function payloadsOf(http: RecordedHttpResponse): Record<string, unknown>[] {
  const text = http.body.toString('utf8');
  const streamed = (http.headers['content-type'] ?? '').includes('text/event-stream');
  if (!streamed) return [JSON.parse(text) as Record<string, unknown>];
  return text
    .split('\n')
    .filter((line) => line.startsWith('data:') && line.slice(5).trim() !== '[DONE]')
    .map((line) => JSON.parse(line.slice(5)) as Record<string, unknown>);
}

/** The first choice's delta (stream) or message (JSON) of each payload that has one. */
function messagesOf(response: Played): Record<string, unknown>[] {
  return response.payloads.flatMap((payload) => {
    const choice = (payload.choices as Record<string, unknown>[] | undefined)?.[0];
    const message = (choice?.delta ?? choice?.message) as Record<string, unknown> | undefined;
    return message === undefined ? [] : [message];
  });
}

/** The text of `field` across a response (the stream's deltas joined). */
function textOf(response: Played, ...fields: string[]): string {
  return messagesOf(response)
    .map((m) => fields.map((f) => (typeof m[f] === 'string' ? m[f] : '')).join(''))
    .join('');
}

/** The calls a response makes: a stream names each call's function in the call's first piece. */
function callsOf(response: Played): { id: string; name: string }[] {
  return messagesOf(response).flatMap((m) =>
    ((m.tool_calls as Record<string, unknown>[] | undefined) ?? []).flatMap((call) => {
      const name = (call.function as { name?: unknown } | undefined)?.name;
      return typeof name === 'string' ? [{ id: typeof call.id === 'string' ? call.id : '', name }] : [];
    }),
  );
}

function finishOf(response: Played): string | undefined {
  const reasons = response.payloads.flatMap((payload) =>
    ((payload.choices as { finish_reason?: unknown }[] | undefined) ?? []).map((c) => c.finish_reason),
  );
  return reasons.filter((r): r is string => typeof r === 'string').at(-1);
}

/** The provider's words of an error response (an HTTP error body, or an error inside a stream). */
function errorOf(response: Played): string | undefined {
  for (const payload of response.payloads) {
    const message = (payload.error as { message?: unknown } | undefined)?.message;
    if (typeof message === 'string') return message;
  }
  return undefined;
}

/** What the model wrote inside a leading `<think>` (to the end when it was never closed). */
function thinkingOf(text: string): string {
  return /^\s*<think>([\s\S]*?)(<\/think>|$)/.exec(text)?.[1]?.trim() ?? '';
}

/** A message's text as the person reads it: tags dropped, entities decoded, spaces collapsed. */
function plain(html: string): string {
  return html
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The model name a worker is configured with: the recording's, less its note ("" for vLLM). */
function modelName(recording: Recording): string {
  const name = recording.model.replace(/\s*\(.*\)$/, '');
  return name === '""' ? 'Qwen2.5-7B-Instruct' : name;
}

/**
 * The fake's reply function for a recording: its responses in order, then FILLER; every try of
 * an error recording gets its error; SECOND gets its scripted answer whatever came before.
 */
function replayer(recording: Recording, responses: readonly Played[]): ReplyFn {
  let next = 0;
  return (req): Reply => {
    if (lastUserText(req).includes(SECOND)) return SECOND_ANSWER;
    if (recording.expect === 'error-reply') return { replay: responses[0]!.http };
    const response = responses[next++];
    return response === undefined ? FILLER : { replay: response.http };
  };
}

/** Everything the chat was shown: messages (with each edit) and drafts. */
function shownTexts(): string[] {
  const t = h.telegram;
  return [
    ...t.sentTo(CHAT).map((m) => m.text),
    ...t.edits.filter((e) => e.chatId === CHAT).map((e) => e.text),
    ...t.drafts.filter((d) => d.chatId === CHAT).map((d) => d.text),
  ];
}

/** The replies to a message, less the run's status message. */
function answersTo(messageId: number): string[] {
  const status = new Set(
    h.rows('SELECT status_message_id AS id FROM agent_runs').map((r) => r.id as number | null),
  );
  return h.telegram
    .sentTo(CHAT)
    .filter((m) => m.replyToMessageId === messageId && !status.has(m.messageId))
    .map((m) => m.text);
}

interface ToolStepRow {
  toolCallId: string | null;
  tool: string;
  status: string;
  result: string | null;
}

function toolSteps(): ToolStepRow[] {
  return h.rows(
    `SELECT tool_call_id AS toolCallId, tool, status, result FROM agent_steps WHERE kind = 'tool' ORDER BY id`,
  ) as unknown as ToolStepRow[];
}

/** Starts the worker on a recording, sends the question and then SECOND; returns what they got. */
async function replayThroughWorker(
  recording: Recording,
  responses: readonly Played[],
): Promise<{ answers: string[]; ms: number }> {
  h.openai.setReply(replayer(recording, responses));
  h.openai.setReasoningContentRequired(recording.model === 'deepseek-reasoner');
  await h.start({
    AGENT_APPROVAL: 'never',
    OPENAI_MODEL: modelName(recording),
    WORKER_MAX_ATTEMPTS: '3',
    WORKER_RETRY_BASE_SECONDS: '0.05',
    WORKER_RETRY_MAX_SECONDS: '0.2',
    TG_DRAFT_INTERVAL_MS: '100',
  });
  const started = Date.now();
  const asked = h.telegram.pushMessage(CHAT, ASKED).message!.message_id;
  await h.settled(20_000);
  await h.telegram.waitFor(() => answersTo(asked).length > 0, 10_000, `a reply to ${recording.name}`);
  const ms = Date.now() - started;
  const second = h.telegram.pushMessage(CHAT, SECOND).message!.message_id;
  await h.telegram.waitFor(
    () => answersTo(second).some((text) => plain(text) === SECOND_ANSWER),
    15_000,
    'the answer to the second message (the worker is still up)',
  );
  // by now every reply to the first message was sent: the second was taken after it settled
  return { answers: answersTo(asked).map(plain), ms };
}

const timings: string[] = [];
afterAll(() => console.log(`time to the first reply, per recording:\n${timings.join('\n')}`));

describe.each(recordings.map((r) => [r.name, r] as const))('the recording %s', (name, recording) => {
  const responses = played(recording);
  const calls = responses.flatMap(callsOf);
  const error = recording.expect === 'error-reply' ? errorOf(responses[0]!) : undefined;

  it(`(${recording.provider}, ${recording.case}) gives one reply, runs its calls once, and keeps the worker up`, async () => {
    const { answers, ms } = await replayThroughWorker(recording, responses);
    timings.push(`${name}: ${ms} ms, ${h.openai.requests.length} request(s)`);

    // one reply to the message; for an error recording it names the cause in the provider's words
    expect(answers).toHaveLength(1);
    const answer = answers[0]!;
    if (recording.expect === 'error-reply') {
      expect(error).toBeDefined();
      expect(answer).toContain(plain(error!).slice(0, 60));
    } else {
      expect(answer).not.toMatch(/^Sorry, I could not answer/);
      const last = responses.at(-1)!;
      const content = textOf(last, 'content');
      if (callsOf(last).length > 0) expect(answer).toBe(FILLER);
      else if (finishOf(last) === 'length') {
        // a cut-off answer says so; a model cut off while still thinking wrote no answer at all
        const written = content.replace(/^\s*<think>[\s\S]*?(<\/think>|$)/, '').trim();
        if (written === '') expect(answer).toBe(plain(CUT_OFF_EMPTY));
        else {
          expect(answer.startsWith(plain(written))).toBe(true);
          expect(answer).toContain(plain(CUT_OFF_NOTE));
        }
      } else expect(answer).toBe(plain(content.replace(/^\s*<think>[\s\S]*?<\/think>/, '')));
    }

    // each recorded call settled once (by its id, or its name when the server gave none), no other ran
    const steps = toolSteps();
    expect(steps).toHaveLength(calls.length);
    for (const call of calls) {
      const mine = steps.filter((s) => (call.id === '' ? s.tool === call.name : s.toolCallId === call.id));
      expect(mine).toEqual([expect.objectContaining({ tool: call.name, status: 'done' })]);
      expect(mine[0]!.result).toEqual(expect.any(String));
    }
    if (recording.expect === 'tools') expect(calls.length).toBeGreaterThan(0);

    // no reasoning reaches the chat: not a `<think>`, not the reasoning fields' text
    const shown = shownTexts();
    const reasoning = responses.map((r) => textOf(r, 'reasoning_content', 'reasoning').trim());
    const thoughts = [...reasoning, ...responses.map((r) => thinkingOf(textOf(r, 'content')))]
      .filter((text) => text.length >= 20)
      .map((text) => plain(text).slice(0, 40));
    for (const text of shown) {
      // raw, as sent: a `<think>` sent unescaped would be dropped by `plain` as if it were a tag
      expect(text).not.toMatch(/<think>|&lt;think&gt;/i);
      for (const thought of thoughts) expect(plain(text)).not.toContain(thought);
    }
  });

  if (recording.rule === 'deepseek-reasoning-content') {
    it('sends the tool call turn back with its reasoning_content, which DeepSeek requires', async () => {
      await replayThroughWorker(recording, responses);
      const [first, followUp] = h.openai.requests;
      expect(first!.replayed).toBe(responses[0]!.http);
      // the fake refuses the follow-up as DeepSeek does when the field is missing: it was not refused
      expect(followUp!.status).toBe(200);
      const turn = followUp!.body.messages.find((m) => m.role === 'assistant');
      expect(turn).toMatchObject({
        tool_calls: [expect.objectContaining({ id: calls[0]!.id })],
        reasoning_content: textOf(responses[0]!, 'reasoning_content'),
      });
      expect(h.openai.requests.every((r) => r.status === 200)).toBe(true);
      // the same request without the field is refused, as DeepSeek refuses it: the check was live
      const withoutReasoning = followUp!.body.messages.map((m) => {
        if (m !== turn) return m;
        const { reasoning_content: _dropped, ...rest } = m;
        return rest;
      });
      const refused = await fetch(h.openai.chatCompletionsUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...followUp!.body, messages: withoutReasoning }),
      });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toEqual({
        error: expect.objectContaining({
          message: expect.stringMatching(
            /^Missing `reasoning_content` field in the assistant message at message index \d+\./,
          ),
        }),
      });
    });
  }
});

describe('the replay', () => {
  it('sends a recorded stream byte for byte, in pieces cut inside its events', async () => {
    const [first] = played(recordings.find((r) => r.name === 'deepseek-stream-tools')!);
    h.openai.setReply(() => ({ replay: first!.http }));
    const response = await fetch(h.openai.chatCompletionsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'deepseek-reasoner', messages: [{ role: 'user', content: ASKED }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const pieces: Buffer[] = [];
    for await (const piece of response.body!) pieces.push(Buffer.from(piece as Uint8Array));
    expect(Buffer.concat(pieces).equals(first!.http.body)).toBe(true);
    expect(pieces.length).toBeGreaterThan(10);
    expect(pieces.filter((piece) => !piece.toString().endsWith('\n\n')).length).toBeGreaterThan(10);
  });
});

describe('a response cut off in its tool calls (a recording with finish_reason length put in)', () => {
  it('runs none of its calls: each gets the "not run" result, and the run still answers once', async () => {
    const recording = recordings.find((r) => r.name === 'openai-stream-parallel-tools')!;
    const [first, followUp] = played(recording);
    const body = Buffer.from(
      first!.http.body.toString('utf8').replace('"finish_reason":"tool_calls"', '"finish_reason":"length"'),
    );
    expect(body.equals(first!.http.body)).toBe(false);
    const cut: Played = {
      ...first!,
      http: { ...first!.http, body },
      payloads: payloadsOf({ ...first!.http, body }),
    };
    const { answers } = await replayThroughWorker(recording, [cut, followUp!]);
    expect(answers).toEqual([plain(textOf(followUp!, 'content'))]);
    const steps = toolSteps();
    expect(steps.map((s) => s.toolCallId)).toEqual(callsOf(cut).map((c) => c.id));
    for (const step of steps) expect(step).toMatchObject({ status: 'done', result: CUT_OFF_CALL_RESULT });
  });
});
