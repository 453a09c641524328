import { buildContext, contextMessages, messageTokens, type Turn } from '../../src/worker/context';

// One token per word keeps the arithmetic of these tests obvious
const words = (text: string): number => text.split(/\s+/).filter(Boolean).length;

const turns = (n: number): Turn[] =>
  Array.from(
    { length: n },
    (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', text: `turn ${i} text` }) as Turn,
  );

describe('context building', () => {
  it('sends the system prompt, the history oldest first, then the message', () => {
    const context = buildContext('be brief', turns(4), 'hello there', 10_000, words);
    expect(context.system).toBe('be brief');
    expect(context.history.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(context.history[0]!.content).toBe('turn 0 text');
    expect(context.message).toBe('hello there');
    const messages = contextMessages(context);
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(messages.at(-1)!.content).toBe('hello there');
  });

  it('keeps the newest turns that fit the budget and drops older ones whole', () => {
    const fixed = messageTokens('sys', words) + messageTokens('msg', words);
    const perTurn = messageTokens('turn 0 text', words);
    const context = buildContext('sys', turns(10), 'msg', fixed + 3 * perTurn, words);
    // three turns fit, but the oldest of them would be an assistant turn: it is dropped too
    expect(context.history.map((m) => m.content)).toEqual(['turn 8 text', 'turn 9 text']);
  });

  it('always sends the message itself, even over the budget', () => {
    const context = buildContext('sys', turns(3), 'a very long message '.repeat(50), 10, words);
    expect(context.history).toHaveLength(0);
    expect(context.message).toBe('a very long message '.repeat(50));
  });

  it('counts real tokens with the default tokenizer', () => {
    expect(messageTokens('hello world')).toBeGreaterThan(2);
    expect(messageTokens('hello world')).toBeLessThan(10);
  });
});
