/**
 * The model port (src/worker/openai/chat.ts) against the fake OpenAI server: streamed text,
 * usage, streamed tool calls, the tool conversation's wire form, cancellation and failures
 * before and during a stream.
 */
import type { AgentMessage, ModelPort, ToolSpec } from '../../src/agent/ports';
import { isContextTooLong } from '../../src/agent/ports';
import { promptCacheKey } from '../../src/worker/openai/cache-key';
import { createModelPort } from '../../src/worker/openai/chat';
import { openAIErrors, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { recordedResponse } from '../helpers/provider-recordings';
import { edgeError } from '../helpers/edge-error';

const apiKey = 'sk-test-port-0123456789';
const user = (content: string): AgentMessage => ({ role: 'user', content });
const readTool: ToolSpec = {
  name: 'read',
  description: 'Reads a file of the project.',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};

describe('model port', () => {
  let ai: FakeOpenAI;
  let model: ModelPort;

  beforeEach(async () => {
    ai = await startFakeOpenAI({ apiKey });
    model = createModelPort({ apiKey, baseUrl: `${ai.url}/v1`, model: 'gpt-4o-mini', timeoutSeconds: 5 });
  });
  afterEach(() => ai.close());

  it('streams the text, calling onText with the whole text so far, and parses usage', async () => {
    ai.setReply(() => ({ content: 'The answer is forty-two.', usage: { cachedTokens: 3 } }));
    ai.setStreaming({ chunkSize: 5 });
    const seen: string[] = [];
    const response = await model([user('question')], [], { onText: (text) => seen.push(text) });

    const text = 'The answer is forty-two.';
    // 5 characters a chunk: every call shows the whole text so far, never a piece of it
    expect(seen).toEqual([5, 10, 15, 20, 24].map((n) => text.slice(0, n)));
    expect(response).toEqual({
      content: 'The answer is forty-two.',
      toolCalls: [],
      usage: { ...ai.requests[0]?.response?.usage, cachedTokens: 3 },
      model: 'gpt-4o-mini',
      finishReason: 'stop',
    });
    expect(response.usage.promptTokens).toBeGreaterThan(0);
    expect(response.usage.completionTokens).toBe(6);
    expect(ai.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(ai.requests[0]?.body.tools).toBeUndefined();
  });

  it('assembles streamed tool calls by index, with the text before them', async () => {
    ai.setReply(() => ({
      content: 'Let me look.',
      toolCalls: [
        { name: 'read', arguments: { path: 'src/app.ts' }, id: 'call_a' },
        { name: 'read', arguments: '{"path":"package.json","offset":10}' },
      ],
    }));
    ai.setStreaming({ chunkSize: 4 });
    const response = await model([user('look at the app')], [readTool], { model: 'gpt-4.1' });

    expect(response.content).toBe('Let me look.');
    expect(response.finishReason).toBe('tool_calls');
    expect(response.model).toBe('gpt-4.1');
    expect(response.toolCalls).toEqual([
      { id: 'call_a', name: 'read', arguments: '{"path":"src/app.ts"}' },
      {
        id: ai.requests[0]?.response?.toolCalls[1]?.id,
        name: 'read',
        arguments: '{"path":"package.json","offset":10}',
      },
    ]);
    expect(response.toolCalls[1]?.id).toMatch(/^call_/);
    expect(ai.requests[0]?.body.tools).toEqual([{ type: 'function', function: readTool }]);
  });

  it('sends a tool conversation in the API form, which the server accepts, and the model sees the results', async () => {
    const steps = ai.script([
      { toolCalls: [{ name: 'read', arguments: { path: 'a.txt' }, id: 'call_1' }] },
      (req) => `the file says: ${String(req.messages.at(-1)?.content)}`,
    ]);
    const history: AgentMessage[] = [user('what is in a.txt?')];
    const first = await model(history, [readTool]);
    history.push({ role: 'assistant', content: first.content, toolCalls: first.toolCalls });
    history.push({ role: 'tool', toolCallId: 'call_1', content: 'hello' });
    const second = await model(history, [readTool]);

    expect(second.content).toBe('the file says: hello');
    expect(steps.remaining).toBe(0);
    expect(ai.requests[1]?.body.messages).toEqual([
      { role: 'user', content: 'what is in a.txt?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'read', arguments: '{"path":"a.txt"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'hello' },
    ]);

    // a tool call left unanswered is refused by the API: a bug of ours, never retried
    const unanswered = await edgeError(model(history.slice(0, 2), [readTool]));
    expect(unanswered).toMatchObject({ errorClass: 'permanent', service: 'openai' });
    expect(unanswered.message).toContain('call_1');
  });

  it('sends prompt_cache_key and tool_choice none when asked, and neither otherwise', async () => {
    const cacheKey = promptCacheKey(101, 'app');
    await model([user('summarise')], [readTool], { cacheKey, toolChoice: 'none' });
    expect(ai.requests[0]?.body).toMatchObject({ prompt_cache_key: cacheKey, tool_choice: 'none' });
    expect(ai.requests[0]?.body.tools).toEqual([{ type: 'function', function: readTool }]);

    await model([user('hi')], [readTool]);
    expect(ai.requests[1]?.body).not.toHaveProperty('prompt_cache_key');
    expect(ai.requests[1]?.body).not.toHaveProperty('tool_choice');

    // a choice among no tools is refused by the API: it is not sent
    await model([user('hi')], [], { cacheKey, toolChoice: 'none' });
    expect(ai.requests[2]?.body).toMatchObject({ prompt_cache_key: cacheKey });
    expect(ai.requests[2]?.body).not.toHaveProperty('tool_choice');
  });

  it('keys a session by a digest of its chat and project, never the chat id in the clear', () => {
    const key = promptCacheKey(123456789, 'app');
    expect(key).toMatch(/^autonous-[0-9a-f]{32}$/);
    expect(key).not.toContain('123456789');
    expect(promptCacheKey(123456789, 'app')).toBe(key);
    expect(promptCacheKey(123456789, 'web')).not.toBe(key);
    // the chat and the project are kept apart, so no other pair writes the same text
    expect(promptCacheKey(12345, '6789app')).not.toBe(promptCacheKey(123456789, 'app'));
  });

  it('works with a server that ignores stream and answers plain JSON, and without streaming', async () => {
    ai.setIgnoreStream(true);
    const onText = jest.fn();
    const plain = await model([user('hi')], [], { onText });
    expect(plain).toMatchObject({ content: 'echo: hi', finishReason: 'stop', model: 'gpt-4o-mini' });
    expect(plain.usage.promptTokens).toBeGreaterThan(0);
    expect(onText).not.toHaveBeenCalled();
    expect(ai.requests[0]?.response?.streamed).toBe(false);

    ai.setIgnoreStream(false);
    ai.setReply(() => ({ toolCalls: [{ name: 'read', arguments: { path: 'x' }, id: 'call_x' }] }));
    const unstreamed = createModelPort({
      apiKey,
      baseUrl: `${ai.url}/v1`,
      model: 'gpt-4o-mini',
      timeoutSeconds: 5,
      stream: false,
    });
    const response = await unstreamed([user('x')], [readTool]);
    expect(response).toMatchObject({
      content: null,
      toolCalls: [{ id: 'call_x', name: 'read', arguments: '{"path":"x"}' }],
      finishReason: 'tool_calls',
    });
    expect(ai.requests[1]?.body.stream).toBeUndefined();
  });

  it('cancels the stream when the signal aborts mid-answer', async () => {
    ai.setReply(() => 'word '.repeat(200));
    ai.setStreaming({ chunkDelayMs: 20 });
    const controller = new AbortController();
    const seen: string[] = [];
    const started = Date.now();
    const err = await edgeError(
      model([user('long')], [], {
        signal: controller.signal,
        onText: (text) => {
          seen.push(text);
          if (seen.length === 3) controller.abort();
        },
      }),
    );
    expect(err).toMatchObject({ errorClass: 'transient', code: 'aborted' });
    expect(seen).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(2000); // 200 chunks would take 4 s
    const already = new AbortController();
    already.abort();
    expect(await edgeError(model([user('x')], [], { signal: already.signal }))).toMatchObject({
      code: 'aborted',
    });
    expect(ai.requests).toHaveLength(1);
  });

  it('classifies an error event in the middle of a stream as transient, after the text it had sent', async () => {
    ai.setReply(() => 'one two three four');
    ai.failNext({
      streamError: { message: 'The server had an error while processing your request.' },
      afterChunks: 2,
    });
    const seen: string[] = [];
    const err = await edgeError(model([user('x')], [], { onText: (t) => seen.push(t) }));
    expect(err).toMatchObject({ errorClass: 'transient', service: 'openai' });
    expect(err.message).toContain('The server had an error');
    expect(seen).toEqual(['one ', 'one two ']);
  });

  it('classifies a connection cut mid-stream and a silent stream as transient', async () => {
    ai.setReply(() => ({ toolCalls: [{ name: 'read', arguments: { path: 'a' } }] }));
    ai.failNext({ streamDrop: true, afterChunks: 2 });
    const cut = await edgeError(model([user('x')], [readTool]));
    expect(cut).toMatchObject({ errorClass: 'transient', code: 'network' });

    const quick = createModelPort({ apiKey, baseUrl: `${ai.url}/v1`, model: 'm', timeoutSeconds: 0.3 });
    ai.setReply(() => 'slow answer');
    ai.setStreaming({ chunkDelayMs: 1000 });
    const silent = await edgeError(quick([user('x')], []));
    expect(silent).toMatchObject({ errorClass: 'transient', code: 'timeout' });
  });

  it('keeps the existing classes: empty answer, rate limit with retry-after, bad key', async () => {
    ai.setReply(() => '   ');
    expect(await edgeError(model([user('x')], []))).toMatchObject({
      errorClass: 'transient',
      code: 'empty_answer',
    });
    ai.failNext(openAIErrors.rateLimit('tokens', 4));
    expect(await edgeError(model([user('x')], []))).toMatchObject({
      errorClass: 'transient',
      code: 'rate_limit_exceeded',
      retryAfterMs: 4000,
    });
    ai.failNext(openAIErrors.contextLengthExceeded());
    expect(await edgeError(model([user('x')], []))).toMatchObject({ code: 'context_length_exceeded' });
    const wrong = createModelPort({
      apiKey: 'sk-wrong-abcdefghijk',
      baseUrl: `${ai.url}/v1`,
      model: 'm',
      timeoutSeconds: 5,
    });
    expect(await edgeError(wrong([user('x')], []))).toMatchObject({ errorClass: 'paused' });
  });
  it.each([
    // [recording, class, code, what the server said]
    ['groq-400-tool-use-failed', 'transient', 'tool_use_failed', /^Tool call validation failed: /],
    ['groq-stream-error-retry', 'transient', 'tool_use_failed', /^Tool call validation failed: /],
    ['openrouter-stream-length-error', 'permanent', '400', /^Token limit reached$/],
    ['openrouter-429', 'transient', '429', /temporarily rate-limited upstream/],
  ] as const)('classifies the recorded %s by its body: %s', async (name, errorClass, code, said) => {
    ai.failNext(recordedResponse(name));
    const err = await edgeError(model([user('x')], [readTool]));
    expect(err).toMatchObject({ errorClass, service: 'openai', code, retryAfterMs: undefined });
    expect(err.said).toMatch(said);
  });

  it("retries Groq's tool_use_failed inside a stream, and the recorded next try calls the tool", async () => {
    ai.failNext(recordedResponse('groq-stream-error-retry'));
    ai.failNext(recordedResponse('groq-stream-error-retry', 'retry'));
    const failed = await edgeError(model([user('x')], [readTool]));
    expect(failed).toMatchObject({ errorClass: 'transient', code: 'tool_use_failed' });
    const next = await model([user('x')], [readTool]);
    expect(next.toolCalls.map((call) => call.name)).toEqual(['get_something_by_name']);
  });

  it('backs off an error inside a stream by the queue, not by a retry-after the 200 carried', async () => {
    // Together sends retry-after: 30 with its successful answers; an error inside the stream that
    // follows is no answer to it
    const { headers } = recordedResponse('together-json-length');
    const rawBody = [
      'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}',
      'data: {"error":{"message":"Rate limit exceeded: too many requests","status_code":429}}',
      '',
    ].join('\n\n');
    ai.failNext({ status: 200, rawBody, headers: { ...headers, 'content-type': 'text/event-stream' } });
    const err = await edgeError(model([user('x')], []));
    expect(err).toMatchObject({ errorClass: 'transient', code: '429', retryAfterMs: undefined });
  });

  it('reads a context-length error inside a stream as too long, for the run to compact', async () => {
    ai.setReply(() => 'one two three');
    ai.failNext({
      streamError: {
        message: "This model's maximum context length is 8192 tokens.",
        code: 'context_length_exceeded',
      },
      afterChunks: 1,
    });
    const err = await edgeError(model([user('x')], []));
    expect(isContextTooLong(err)).toBe(true);
    expect(err.said).toBe("This model's maximum context length is 8192 tokens.");
  });

  it('does not retry a 400 inside a stream, and pauses on a 402 (out of credit)', async () => {
    ai.failNext({
      status: 200,
      rawBody: 'data: {"error":{"message":"Missing `reasoning_content` field","status_code":400}}\n\n',
      headers: { 'content-type': 'text/event-stream' },
    });
    expect(await edgeError(model([user('x')], []))).toMatchObject({ errorClass: 'permanent', code: '400' });
    ai.failNext({
      status: 402,
      error: { message: 'Insufficient Balance', type: 'unknown_error', code: null },
    });
    expect(await edgeError(model([user('x')], []))).toMatchObject({ errorClass: 'paused', code: '402' });
  });
});
