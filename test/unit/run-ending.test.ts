import type { InboxRow } from '../../src/queue/row';
import type { RunRow, Store } from '../../src/queue/store';
import { DEAD_RUN_ERROR, RunEnding, type RunEndingDeps } from '../../src/worker/run-ending';
import { captureLog } from '../helpers/worker-harness';

type Finished = Parameters<Store['finishRunOf']>;

function world(runs: Record<number, number>, approvalsOfRun: Record<number, number> = {}) {
  const finished: Finished[] = [];
  const expired: number[] = [];
  const notices: number[] = [];
  let pokes = 0;
  const deps: RunEndingDeps = {
    store: {
      runOfItem: (inboxId) => (runs[inboxId] === undefined ? undefined : ({ id: runs[inboxId] } as RunRow)),
      finishRunOf: (...args) => {
        finished.push(args);
        return runs[args[0]] !== undefined;
      },
    },
    expireApprovals: (runId) => {
      expired.push(runId);
      return approvalsOfRun[runId] ?? 0;
    },
    onApprovalsExpired: () => pokes++,
    isAllowed: (chatId) => chatId === 101,
    sendDeadNotice: async (item) => {
      notices.push(item.id);
    },
    log: captureLog(),
    now: () => 5000,
  };
  return { ending: new RunEnding(deps), finished, expired, notices, pokes: () => pokes };
}

const item = (id: number, chatId: number | null): InboxRow => ({ id, chatId, messageId: 1 }) as InboxRow;

describe('run ending', () => {
  it('ends the runs of stopped messages cancelled, and skips messages without a run', () => {
    const w = world({ 1: 10, 3: 30 });
    w.ending.stopped([1, 2, 3]);
    expect(w.finished.map(([id, outcome]) => [id, outcome.status])).toEqual([
      [1, 'cancelled'],
      [3, 'cancelled'],
    ]);
    expect(w.expired).toEqual([10, 30]);
  });

  it('has the sweeper edit the cards only when a stopped run had approvals to expire', () => {
    const quiet = world({ 1: 10 });
    quiet.ending.stopped([1]);
    expect(quiet.pokes()).toBe(0);
    const waiting = world({ 1: 10 }, { 10: 2 });
    waiting.ending.stopped([1]);
    expect(waiting.pokes()).toBe(1);
  });

  it('ends the run of a dead message failed and tells an answered chat', () => {
    const w = world({ 7: 70 });
    w.ending.dead(item(7, 101));
    expect(w.finished).toEqual([[7, { status: 'failed', error: DEAD_RUN_ERROR }, 5000]]);
    expect(w.notices).toEqual([7]);
  });

  it('tells no chat it does not answer, nor an item without a chat, that a message died', () => {
    const w = world({});
    w.ending.dead(item(8, 202));
    w.ending.dead(item(9, null));
    expect(w.notices).toEqual([]);
    expect(w.finished.map(([id]) => id)).toEqual([8, 9]);
  });
});
