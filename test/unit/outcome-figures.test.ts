import type { InboxRow } from '../../src/queue/row';
import { EdgeError } from '../../src/worker/errors';
import { OutcomeFigures } from '../../src/worker/outcome-figures';

function world() {
  const calls: unknown[][] = [];
  const completed: number[] = [];
  const figures = new OutcomeFigures({
    recorder: {
      answer: (...args) => void calls.push(['answer', ...args]),
      error: (...args) => void calls.push(['error', ...args]),
      deadLetter: () => void calls.push(['deadLetter']),
    },
    modelHealth: { record: (result) => void calls.push(['health', result]) },
    now: () => 9000,
    onCompleted: (count) => completed.push(count),
  });
  return { figures, calls, completed };
}

const item = { id: 1, receivedAt: 4000 } as InboxRow;

describe('outcome figures', () => {
  it('counts an answer with its reply time, the model healthy, and the answers so far', () => {
    const w = world();
    w.figures.settled(item, { kind: 'done', reply: 'hi' });
    w.figures.settled(item, { kind: 'done', reply: 'again' });
    expect(w.calls[0]).toEqual(['answer', 9000, 5000]);
    expect(w.calls[1]).toEqual(['health', { ok: true }]);
    expect(w.completed).toEqual([1, 2]);
  });

  it('counts nothing for an item done without a reply or skipped', () => {
    const w = world();
    w.figures.settled(item, { kind: 'done' });
    w.figures.settled(item, { kind: 'skipped', reason: 'stopped' });
    expect(w.calls).toEqual([]);
    expect(w.completed).toEqual([]);
  });

  it("counts a failure by its service, and only the model's failures in the model's health", () => {
    const w = world();
    w.figures.settled(item, { kind: 'retry', error: new EdgeError('transient', 'openai', '500', 'boom') });
    w.figures.settled(item, { kind: 'dead', error: new EdgeError('permanent', 'telegram', '400', 'bad') });
    expect(w.calls).toEqual([
      ['error', 9000, 'openai'],
      ['health', { ok: false, error: 'boom' }],
      ['error', 9000, 'telegram'],
    ]);
  });

  it('counts a dead letter', () => {
    const w = world();
    w.figures.dead();
    expect(w.calls).toEqual([['deadLetter']]);
  });
});
