import fs from 'node:fs';
import path from 'node:path';
import type OpenAI from 'openai';
import type { ModelResponse } from '../../src/agent/ports';
import { toChatMessage } from '../../src/worker/openai/chat';
import { fromCompletion, ResponseAssembler } from '../../src/worker/openai/response';

// Real responses of OpenAI-compatible servers, recorded by other projects' test suites, assembled
// as the model port assembles them. Each file's expectations are what its index.json entry says
// the recording shows.

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type Completion = OpenAI.Chat.Completions.ChatCompletion;

const RECORDINGS = path.resolve(__dirname, '../../../shared/recordings/providers');

interface RecordedResponse {
  readonly file?: string;
  readonly status?: number;
}

interface Recording {
  readonly name: string;
  readonly responses: Readonly<Record<string, RecordedResponse>>;
}

interface Expected {
  /** Exact content, or a RegExp it must match; null when the answer has no text. */
  readonly content: string | RegExp | null;
  readonly tools?: readonly string[];
  readonly finishReason: string;
  readonly usage: readonly [prompt: number, completion: number, cached: number];
  /** The provider fields kept, by wire name; none when absent. */
  readonly fields?: readonly string[];
  /** Absent where the recording says 0 or nothing. */
  readonly reasoningTokens?: number;
}

/**
 * What each recorded response assembles into. `error body` files (an HTTP error's JSON) are the
 * error classification's; a stream that carries an error chunk is assembled up to that chunk, as
 * the SDK hands chunks over until the error and then throws.
 */
const EXPECTED: Readonly<Record<string, Expected | 'error body' | { beforeError: Expected | string }>> = {
  'openai-stream-parallel-tools.sse': {
    content: null,
    tools: ['GetWeatherArgs', 'get_stock_price'],
    finishReason: 'tool_calls',
    usage: [149, 60, 0],
  },
  'openai-stream-parallel-tools.final.sse': {
    content: /^I'm .*\.$/s,
    finishReason: 'stop',
    usage: [14, 30, 0],
  },
  'openai-stream-length.sse': {
    content: '{"',
    finishReason: 'length',
    usage: [79, 1, 0],
  },
  'openai-json-tools.json': {
    content: null,
    tools: ['get_temperature'],
    finishReason: 'tool_calls',
    usage: [50, 15, 0],
  },
  'openai-json-tools.final.json': {
    content: 'The temperature in Tokyo is currently 20.0 degrees Celsius.',
    finishReason: 'stop',
    usage: [75, 15, 0],
  },
  'groq-stream-tools.sse': {
    content: null,
    tools: ['weather'],
    finishReason: 'tool_calls',
    usage: [210, 15, 0],
  },
  // the reasoning streamed before the error event never finished: nothing of it may be used
  'groq-stream-error-retry.sse': { beforeError: 'incomplete_stream' },
  'groq-stream-error-retry.2.sse': {
    content: null,
    tools: ['get_something_by_name'],
    finishReason: 'tool_calls',
    usage: [304, 49, 0],
    fields: ['reasoning'],
    reasoningTokens: 23,
  },
  'groq-stream-error-retry.3.sse': {
    content: 'The tool returned the expected result for the valid call.',
    finishReason: 'stop',
    usage: [339, 58, 0],
    fields: ['reasoning'],
    reasoningTokens: 38,
  },
  'groq-400-tool-use-failed.json': 'error body',
  'mistral-stream-tools.sse': {
    content: null,
    tools: ['weather'],
    finishReason: 'tool_calls',
    usage: [124, 22, 0],
  },
  'mistral-stream-tools.final.sse': {
    content: /^Hello, .* This is a test response\.$/s,
    finishReason: 'stop',
    usage: [13, 8, 0],
  },
  'deepseek-stream-tools.sse': {
    content: null,
    tools: ['weather'],
    finishReason: 'tool_calls',
    usage: [339, 83, 320],
    fields: ['reasoning_content'],
    reasoningTokens: 39,
  },
  'xai-stream-tools.sse': {
    content: null,
    tools: ['weather'],
    finishReason: 'tool_calls',
    usage: [291, 26, 290],
    fields: ['reasoning_content'],
    reasoningTokens: 196,
  },
  'xai-stream-tools.final.sse': {
    content: 'Hello',
    finishReason: 'stop',
    usage: [12, 1, 11],
    fields: ['reasoning_content'],
    reasoningTokens: 290,
  },
  'alibaba-stream-tools.sse': {
    content: null,
    tools: ['weather'],
    finishReason: 'tool_calls',
    usage: [295, 22, 0],
  },
  'ollama-stream-parallel-tools.sse': {
    content: null,
    tools: ['run_command', 'run_command'],
    finishReason: 'tool_calls',
    usage: [0, 0, 0],
  },
  'vllm-stream-tools.sse': {
    content: null,
    tools: ['run_command'],
    finishReason: 'tool_calls',
    usage: [0, 0, 0],
  },
  'openrouter-stream-reasoning.sse': {
    content: '2 + 2 = 4',
    finishReason: 'stop',
    usage: [43, 36, 0],
    fields: ['reasoning', 'reasoning_details'],
    reasoningTokens: 13,
  },
  // cut off while reasoning; the usage came with the error chunk, which never reaches the assembler
  'openrouter-stream-length-error.sse': {
    beforeError: {
      content: null,
      finishReason: 'length',
      usage: [0, 0, 0],
      fields: ['reasoning', 'reasoning_details'],
    },
  },
  'openrouter-429.json': 'error body',
  'azure-stream-text.sse': {
    content: 'Capital of Denmark.',
    finishReason: 'stop',
    usage: [15, 78, 0],
    reasoningTokens: 64,
  },
  'gemini-json-tools-no-id.json': {
    content: null,
    tools: ['get_current_time'],
    finishReason: 'tool_calls',
    usage: [35, 12, 0],
  },
  'gemini-json-tools-no-id.final.json': {
    content: 'The current time is Noon.',
    finishReason: 'stop',
    usage: [66, 6, 0],
  },
  'together-json-length.json': {
    content: /^<think>\n.*- Acknowledge$/s,
    finishReason: 'length',
    usage: [4, 100, 0],
  },
};

interface Replayed {
  readonly chunks: Chunk[];
  /** The first chunk that carries an `error`: the SDK throws there, so nothing after it counts. */
  readonly error?: unknown;
}

/**
 * The chunks of an SSE body: events are separated by blank lines, `:` lines are comments, an
 * event's `data:` lines are joined, and `[DONE]` ends the stream.
 */
function readSse(body: string): Replayed {
  const chunks: Chunk[] = [];
  for (const event of body.replace(/\r\n/g, '\n').split(/\n{2,}/)) {
    const data = event
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice('data:'.length).replace(/^ /, ''))
      .join('\n');
    if (data === '') continue;
    if (data === '[DONE]') break;
    const parsed = JSON.parse(data) as Chunk & { error?: unknown };
    // an `event: error` carries its error in the data too: either framing ends the stream here
    if (parsed.error !== undefined) return { chunks, error: parsed.error };
    chunks.push(parsed);
  }
  return { chunks };
}

function assembleStream(chunks: readonly Chunk[]): { response: ModelResponse; streamed: string } {
  const assembler = new ResponseAssembler();
  let streamed = '';
  for (const chunk of chunks) if (assembler.add(chunk)) streamed = assembler.textSoFar;
  return { response: assembler.finish(), streamed };
}

function recordedFiles(): { file: string; status: number }[] {
  const index = JSON.parse(fs.readFileSync(path.join(RECORDINGS, 'index.json'), 'utf8')) as {
    recordings: Recording[];
  };
  return index.recordings.flatMap((recording) =>
    Object.values(recording.responses).flatMap((r) =>
      r.file === undefined ? [] : [{ file: r.file, status: r.status ?? 200 }],
    ),
  );
}

function expectResponse(response: ModelResponse, expected: Expected): void {
  if (expected.content instanceof RegExp) expect(response.content).toMatch(expected.content);
  else expect(response.content).toBe(expected.content);
  expect(response.finishReason).toBe(expected.finishReason);
  const [promptTokens, completionTokens, cachedTokens] = expected.usage;
  expect(response.usage).toEqual({ promptTokens, completionTokens, cachedTokens });
  expect(response.reasoningTokens).toBe(expected.reasoningTokens);

  expect(response.toolCalls.map((call) => call.name)).toEqual(expected.tools ?? []);
  for (const call of response.toolCalls) {
    expect(call.id).not.toBe('');
    expect(() => JSON.parse(call.arguments) as unknown).not.toThrow();
  }
  expect(new Set(response.toolCalls.map((call) => call.id)).size).toBe(response.toolCalls.length);

  expect(Object.keys(response.providerFields ?? {}).sort()).toEqual([...(expected.fields ?? [])].sort());
  for (const value of Object.values(response.providerFields ?? {})) {
    expect((value as string | unknown[]).length).toBeGreaterThan(0);
  }
  // reasoning is kept beside the answer, never shown as it
  const reasoning = response.providerFields?.reasoning ?? response.providerFields?.reasoning_content;
  if (typeof reasoning === 'string' && response.content !== null) {
    expect(response.content).not.toContain(reasoning);
  }
}

describe('recorded provider responses', () => {
  const files = recordedFiles();

  it('has an expectation for every recorded response, and none for a file it does not record', () => {
    expect(files.map((f) => f.file).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(files)('assembles $file as the recording shows', ({ file, status }) => {
    const expected = EXPECTED[file];
    const body = fs.readFileSync(path.join(RECORDINGS, file), 'utf8');
    if (expected === undefined) throw new Error(`no expectation for ${file}`);
    if (expected === 'error body') {
      // an HTTP error's body is the error classification's to read, never an answer
      expect(status).toBeGreaterThanOrEqual(400);
      return;
    }
    expect(status).toBe(200);
    if (file.endsWith('.json')) {
      expectResponse(fromCompletion(JSON.parse(body) as Completion), expected as Expected);
      return;
    }
    const { chunks, error } = readSse(body);
    if ('beforeError' in expected) {
      expect(error).toBeDefined();
      const before = expected.beforeError;
      if (typeof before === 'string') {
        expect(() => assembleStream(chunks)).toThrow(expect.objectContaining({ code: before }));
      } else {
        expectResponse(assembleStream(chunks).response, before);
      }
      return;
    }
    expect(error).toBeUndefined();
    const { response, streamed } = assembleStream(chunks);
    expectResponse(response, expected);
    expect(streamed).toBe(response.content ?? '');
  });

  it("keeps DeepSeek's reasoning_content whole, and its call's arguments joined from 11 pieces", () => {
    const { chunks } = readSse(fs.readFileSync(path.join(RECORDINGS, 'deepseek-stream-tools.sse'), 'utf8'));
    const { response } = assembleStream(chunks);
    const pieces = chunks.map(
      (c) => (c.choices[0]?.delta as { reasoning_content?: unknown }).reasoning_content,
    );
    expect(response.providerFields?.reasoning_content).toBe(
      pieces.filter((p): p is string => typeof p === 'string').join(''),
    );
    expect(JSON.parse(response.toolCalls[0]!.arguments)).toEqual({ location: 'San Francisco' });
  });

  it("joins OpenRouter's reasoning_details pieces into one entry with the text and its signature", () => {
    const body = fs.readFileSync(path.join(RECORDINGS, 'openrouter-stream-reasoning.sse'), 'utf8');
    const { response } = assembleStream(readSse(body).chunks);
    const reasoning = 'This is a simple arithmetic question. 2+2 equals 4.';
    expect(response.providerFields?.reasoning).toBe(reasoning);
    expect(response.providerFields?.reasoning_details).toEqual([
      {
        type: 'reasoning.text',
        text: reasoning,
        signature: expect.stringMatching(/^Et0BCkgI.{100,}/s),
        format: 'anthropic-claude-v1',
        index: 0,
      },
    ]);
  });

  it('keeps the ids the servers gave, and only those', () => {
    const ids = (file: string): string[] =>
      assembleStream(
        readSse(fs.readFileSync(path.join(RECORDINGS, file), 'utf8')).chunks,
      ).response.toolCalls.map((call) => call.id);
    expect(ids('ollama-stream-parallel-tools.sse')).toEqual(['call_wteop8bt', 'call_rk2xye1l']);
    expect(ids('mistral-stream-tools.sse')).toEqual(['gSIMJiOkT']);
    expect(ids('alibaba-stream-tools.sse')).toEqual(['call_eee11723464a4b9eb8cee71d']);
  });

  it("keeps nothing of Gemini's message but its tool call, and of OpenAI's but the call", () => {
    const read = (file: string): Completion =>
      JSON.parse(fs.readFileSync(path.join(RECORDINGS, file), 'utf8')) as Completion;
    expect(fromCompletion(read('gemini-json-tools-no-id.json')).providerFields).toBeUndefined();
    expect(fromCompletion(read('openai-json-tools.json')).providerFields).toBeUndefined();
  });
});

const chunk = (delta: Record<string, unknown>, finish: string | null = null): Chunk =>
  ({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'm',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  }) as Chunk;

describe('tool calls streamed without index', () => {
  it('keeps two parallel calls with distinct ids apart, and joins pieces without an id to the last call', () => {
    const a = new ResponseAssembler();
    a.add(chunk({ tool_calls: [{ id: 'call_a', function: { name: 'read', arguments: '{"path":' } }] }));
    a.add(chunk({ tool_calls: [{ function: { arguments: '"a.txt"}' } }] }));
    a.add(chunk({ tool_calls: [{ id: 'call_b', function: { name: 'ls', arguments: '' } }] }));
    a.add(chunk({ tool_calls: [{ id: '', function: { arguments: '{}' } }] }));
    a.add(chunk({}, 'tool_calls'));
    expect(a.finish().toolCalls).toEqual([
      { id: 'call_a', name: 'read', arguments: '{"path":"a.txt"}' },
      { id: 'call_b', name: 'ls', arguments: '{}' },
    ]);
  });

  it('continues a call whose id is repeated on each piece', () => {
    const a = new ResponseAssembler();
    a.add(chunk({ tool_calls: [{ id: 'call_a', function: { name: 'read', arguments: '{"path"' } }] }));
    a.add(chunk({ tool_calls: [{ id: 'call_b', function: { name: 'ls', arguments: '{' } }] }));
    a.add(chunk({ tool_calls: [{ id: 'call_a', function: { arguments: ':"a"}' } }] }));
    a.add(chunk({ tool_calls: [{ id: 'call_b', function: { arguments: '}' } }] }, 'tool_calls'));
    expect(a.finish().toolCalls).toEqual([
      { id: 'call_a', name: 'read', arguments: '{"path":"a"}' },
      { id: 'call_b', name: 'ls', arguments: '{}' },
    ]);
  });
});

describe('answers cut off by the token limit', () => {
  it('returns a response that reasoned but said nothing, so the loop can tell the person it was cut off', () => {
    const a = new ResponseAssembler();
    a.add(chunk({ content: '', reasoning_content: 'Let me think' }, 'length'));
    expect(a.finish()).toMatchObject({
      content: null,
      toolCalls: [],
      finishReason: 'length',
      providerFields: { reasoning_content: 'Let me think' },
    });
  });

  it('still refuses a finished answer with only reasoning as empty', () => {
    const a = new ResponseAssembler();
    a.add(chunk({ content: '', reasoning: 'Let me think' }, 'stop'));
    expect(() => a.finish()).toThrow(
      expect.objectContaining({ code: 'empty_answer', errorClass: 'transient' }),
    );
  });

  it('returns truncated tool calls as they came, for the loop to refuse', () => {
    const a = new ResponseAssembler();
    a.add(
      chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'write', arguments: '{"pa' } }] }),
    );
    a.add(chunk({}, 'length'));
    expect(a.finish()).toMatchObject({
      finishReason: 'length',
      toolCalls: [{ id: 'call_a', name: 'write', arguments: '{"pa' }],
    });
  });
});

describe('provider fields of a plain completion', () => {
  it('keeps the filled reasoning fields as given, and nothing else of the message', () => {
    const details = [{ type: 'reasoning.encrypted', data: 'opaque', index: 0 }];
    const completion = {
      id: 'x',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [
        {
          index: 0,
          finish_reason: 'stop',
          logprobs: null,
          message: {
            role: 'assistant',
            content: 'Four.',
            refusal: null,
            annotations: [],
            reasoning_content: 'two and two',
            reasoning: '',
            reasoning_details: details,
          },
        },
      ],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_cache_hit_tokens: 8,
        completion_tokens_details: { reasoning_tokens: 3 },
      },
    } as unknown as Completion;
    expect(fromCompletion(completion)).toEqual({
      content: 'Four.',
      toolCalls: [],
      usage: { promptTokens: 10, completionTokens: 5, cachedTokens: 8 },
      model: 'm',
      finishReason: 'stop',
      providerFields: { reasoning_content: 'two and two', reasoning_details: details },
      reasoningTokens: 3,
    });
  });
});

describe("a call's own provider fields (Gemini 3's thought signature)", () => {
  it('keeps `extra_content` of a call and sends it back with that call', () => {
    const signature = { google: { thought_signature: 'c2lnbmF0dXJl' } };
    const response = fromCompletion({
      id: 'x',
      object: 'chat.completion',
      created: 0,
      model: 'gemini-3-pro',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          logprobs: null,
          message: {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [
              {
                id: 'c1',
                type: 'function',
                function: { name: 'ls', arguments: '{}' },
                extra_content: signature,
              } as OpenAI.Chat.Completions.ChatCompletionMessageToolCall,
            ],
          },
        },
      ],
    });
    expect(response.toolCalls[0]!.extra).toEqual({ extra_content: signature });
    const sent = toChatMessage({ role: 'assistant', content: null, toolCalls: response.toolCalls });
    expect(sent).toMatchObject({ tool_calls: [{ id: 'c1', extra_content: signature }] });
  });
});
