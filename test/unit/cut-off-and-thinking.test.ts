import { CUT_OFF_CALL_RESULT, CUT_OFF_EMPTY, CUT_OFF_NOTE, runAgent } from '../../src/agent/loop';
import { shownText, splitThinking } from '../../src/agent/thinking';
import { markdownToTelegramHtml } from '../../src/worker/markdown';
import {
  answer,
  callTools,
  fakeTool,
  runInput,
  runPorts,
  scriptedModel,
  testClock,
  testJournal,
  toolMessages,
  type TestJournal,
} from '../helpers/agent-world';

// finish_reason "length" and `<think>`: a cut-off answer says so, a cut-off response's calls never
// run, and a model's reasoning in its content is no part of what the person is shown.

describe('a response cut off at the output limit (finish_reason length)', () => {
  let tj: TestJournal;
  beforeEach(() => (tj = testJournal('sqlite')));
  afterEach(() => tj.close());

  it('runs none of its tool calls, tells the model why, and goes on', async () => {
    const write = fakeTool({ name: 'write', run: () => ({ content: 'wrote', isError: false }) });
    const cut = {
      ...callTools(['write', '{"path":"a.txt","content":"half of it']),
      finishReason: 'length',
    };
    const model = scriptedModel([cut, answer('I will write it in parts.')]);
    const result = await runAgent(
      runInput(tj.newInboxId()),
      runPorts(model, [write], tj.journal, testClock()),
    );
    expect(result).toMatchObject({ status: 'done', answer: 'I will write it in parts.' });
    expect(write.runs).toEqual([]);
    expect([...toolMessages(model.calls[1]!).values()]).toEqual([CUT_OFF_CALL_RESULT]);
  });

  it('says an answer was cut off, and what to do', async () => {
    const model = scriptedModel([{ ...answer('The first half of the'), finishReason: 'length' }]);
    const result = await runAgent(runInput(tj.newInboxId()), runPorts(model, [], tj.journal, testClock()));
    expect(result.answer).toBe(`The first half of the\n\n${CUT_OFF_NOTE}`);
  });

  it('says so when the model was cut off while still thinking', async () => {
    const model = scriptedModel([{ ...answer('<think>Let me consider the'), finishReason: 'length' }]);
    const result = await runAgent(runInput(tj.newInboxId()), runPorts(model, [], tj.journal, testClock()));
    expect(result.answer).toBe(CUT_OFF_EMPTY);
  });
});

describe('<think> in the content', () => {
  it('splits a leading reasoning off the answer; an unclosed one is all reasoning', () => {
    expect(splitThinking('<think>\nhmm\n</think>\n\nIt is 4.')).toEqual({
      thinking: 'hmm',
      answer: 'It is 4.',
    });
    expect(splitThinking('  <think>still going')).toEqual({ thinking: 'still going', answer: '' });
    expect(splitThinking('No thinking <think>here</think>')).toEqual({
      thinking: null,
      answer: 'No thinking <think>here</think>',
    });
  });

  it('shows the answer alone by default, the reasoning folded above it when asked', () => {
    const text = `<think>${'step by step '.repeat(40)}</think>It is 4.`;
    expect(shownText(text, false)).toBe('It is 4.');
    const shown = shownText(text, true);
    expect(shown).toMatch(/^> 💭 Thinking\n> step by step/);
    expect(shown.endsWith('\n\nIt is 4.')).toBe(true);
    // a long quote goes to Telegram folded
    expect(markdownToTelegramHtml(shown)).toMatch(/^<blockquote expandable>💭 Thinking/);
  });
});
