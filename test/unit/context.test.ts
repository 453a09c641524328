import { buildContext, messageTokens, type Turn } from '../../src/worker/context';

// One token per word keeps the arithmetic of these tests obvious
const words = (text: string): number => text.split(/\s+/).filter(Boolean).length;

const turns = (n: number): Turn[] =>
  Array.from(
    { length: n },
    (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', text: `turn ${i} text` }) as Turn,
  );

describe('context building', () => {
  it('sends the system prompt, the history oldest first, then the message', () => {
    const messages = buildContext('be brief', turns(4), 'hello there', 10_000, words);
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(messages[1]!.content).toBe('turn 0 text');
    expect(messages.at(-1)!.content).toBe('hello there');
  });

  it('keeps the newest turns that fit the budget and drops older ones whole', () => {
    const fixed = messageTokens('sys', words) + messageTokens('msg', words);
    const perTurn = messageTokens('turn 0 text', words);
    const messages = buildContext('sys', turns(10), 'msg', fixed + 3 * perTurn, words);
    // three turns fit, but the oldest of them would be an assistant turn: it is dropped too
    expect(messages.slice(1, -1).map((m) => m.content)).toEqual(['turn 8 text', 'turn 9 text']);
  });

  it('always sends the message itself, even over the budget', () => {
    const messages = buildContext('sys', turns(3), 'a very long message '.repeat(50), 10, words);
    expect(messages).toHaveLength(2);
    expect(messages[1]!.role).toBe('user');
  });

  it('counts real tokens with the default tokenizer', () => {
    expect(messageTokens('hello world')).toBeGreaterThan(2);
    expect(messageTokens('hello world')).toBeLessThan(10);
  });
});
