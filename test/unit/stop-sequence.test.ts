import { stopSequence, type StopParts } from '../../src/worker/stop-sequence';
import { captureLog } from '../helpers/worker-harness';

function parts(announcementDone: Promise<unknown> = Promise.resolve()) {
  const steps: string[] = [];
  const polling = new AbortController();
  polling.signal.addEventListener('abort', () => steps.push('polling aborted'));
  const stop: StopParts = {
    polling,
    polled: Promise.reject(new Error('polling failed')),
    loops: {
      stop: async (graceMs) => {
        steps.push(`loops stopped within ${graceMs}`);
      },
    },
    announcement: {
      done: announcementDone.then(() => steps.push('announced')),
      abort: () => steps.push('announcement aborted'),
    },
    metrics: { stop: async () => void steps.push('metrics unpublished') },
    stopHeartbeat: () => steps.push('heartbeat stopped'),
    db: { close: () => steps.push('db closed') },
    log: captureLog(),
  };
  return { stop, steps };
}

describe('the stop sequence', () => {
  it('stops polling and the loops first and closes the database last', async () => {
    const { stop, steps } = parts();
    await stopSequence(stop)(500);
    expect(steps).toEqual([
      'polling aborted',
      'loops stopped within 500',
      'announced',
      'metrics unpublished',
      'heartbeat stopped',
      'db closed',
    ]);
  });

  it('runs once: a second call waits for the first', async () => {
    const { stop, steps } = parts();
    const sequence = stopSequence(stop);
    const first = sequence(500);
    const second = sequence(500);
    await second;
    expect(steps).toContain('db closed');
    await first;
    expect(steps.filter((s) => s === 'db closed')).toHaveLength(1);
  });

  it('aborts an announcement still sending when the grace is over', async () => {
    let finish = (): void => undefined;
    const sending = new Promise<void>((resolve) => (finish = resolve));
    const { stop, steps } = parts(sending);
    stop.announcement.abort = () => {
      steps.push('announcement aborted');
      finish();
    };
    await stopSequence(stop)(0);
    expect(steps.indexOf('announcement aborted')).toBeLessThan(steps.indexOf('db closed'));
  });
});
