import type OpenAI from 'openai';
import { fromCompletion, ResponseAssembler } from '../../src/worker/openai/response';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type Delta = Chunk['choices'][number]['delta'];

const chunk = (delta: Delta, finish: Chunk['choices'][number]['finish_reason'] = null): Chunk => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 0,
  model: 'm',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
});

describe('response assembly', () => {
  it('joins tool-call deltas by index, in index order, whatever order they interleave in', () => {
    const a = new ResponseAssembler();
    a.add(chunk({ tool_calls: [{ index: 1, id: 'call_b', function: { name: 'ls', arguments: '' } }] }));
    a.add(chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 're', arguments: '{"pa' } }] }));
    a.add(chunk({ tool_calls: [{ index: 0, function: { name: 'ad', arguments: 'th":1}' } }] }));
    a.add(chunk({ tool_calls: [{ index: 1, function: { arguments: '{}' } }] }));
    a.add(chunk({}, 'tool_calls'));
    expect(a.finish()).toMatchObject({
      content: null,
      finishReason: 'tool_calls',
      toolCalls: [
        { id: 'call_a', name: 'read', arguments: '{"path":1}' },
        { id: 'call_b', name: 'ls', arguments: '{}' },
      ],
    });
  });

  it('gives a call without an id one of its own', () => {
    const a = new ResponseAssembler();
    a.add(chunk({ tool_calls: [{ index: 0, function: { name: 'ls', arguments: '{}' } }] }, 'tool_calls'));
    expect(a.finish().toolCalls[0]?.id).toMatch(/^call_[0-9a-f]{24}$/);
  });

  it('refuses a stream that ended without a finish_reason, and an empty answer', () => {
    const cut = new ResponseAssembler();
    expect(cut.add(chunk({ content: 'half' }))).toBe(true);
    expect(() => cut.finish()).toThrow(
      expect.objectContaining({ code: 'incomplete_stream', errorClass: 'transient' }),
    );
    const empty = new ResponseAssembler();
    empty.add(chunk({ content: ' ' }, 'stop'));
    expect(() => empty.finish()).toThrow(expect.objectContaining({ code: 'empty_answer' }));
  });

  it('answers with the refusal when there is no text', () => {
    const a = new ResponseAssembler();
    expect(a.add(chunk({ refusal: 'I cannot help with that.' }, 'stop'))).toBe(false);
    expect(a.finish().content).toBe('I cannot help with that.');
    const plain = fromCompletion({
      id: 'x',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [
        {
          index: 0,
          finish_reason: 'stop',
          logprobs: null,
          message: { role: 'assistant', content: null, refusal: 'No.' },
        },
      ],
    });
    expect(plain).toMatchObject({
      content: 'No.',
      usage: { promptTokens: 0, completionTokens: 0, cachedTokens: 0 },
    });
  });
});
