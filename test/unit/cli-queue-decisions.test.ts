import { errorRate, percentile, summariseLatencies } from '../../src/queue/admin/latency';
import { retryRefusal } from '../../src/queue/admin/retry';

describe('latency summary', () => {
  it('uses nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });

  it('summarises values given in any order', () => {
    expect(summariseLatencies([300, 100, 200, 5000])).toEqual({ count: 4, p50: 200, p95: 5000, max: 5000 });
    expect(summariseLatencies([])).toEqual({ count: 0, p50: null, p95: null, max: null });
  });

  it('gives the share of finished items that died', () => {
    expect(errorRate(3, 1)).toBe(0.25);
    expect(errorRate(0, 0)).toBeNull();
  });
});

describe('retryRefusal', () => {
  it('lets failed, dead and skipped items go back to the queue', () => {
    for (const status of ['failed', 'dead', 'skipped'] as const) expect(retryRefusal(1, status)).toBeNull();
  });

  it('refuses unknown, done, processing and queued items with a sentence', () => {
    expect(retryRefusal(9, undefined)).toBe('There is no inbox item with id 9.');
    expect(retryRefusal(2, 'done')).toMatch(/^Item 2 is done: .*\.$/);
    expect(retryRefusal(3, 'processing')).toMatch(/^Item 3 is being processed right now/);
    expect(retryRefusal(4, 'queued')).toBe('Item 4 is already queued.');
  });
});
