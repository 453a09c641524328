import { detectCrashLoop, type ExitRecord, isCrash } from '../../src/supervisor-hooks/crash-loop';

const policy = { restarts: 5, windowMs: 300_000, minUptimeMs: 60_000 };
const NOW = 1_000_000_000;

function exit(secondsAgo: number, extra: Partial<ExitRecord> = {}): ExitRecord {
  return {
    at: NOW - secondsAgo * 1000,
    uptimeMs: 1000,
    exitCode: 1,
    manual: false,
    revision: 'r2-aaaaaaa',
    ...extra,
  };
}
const scope = { now: NOW, revision: 'r2-aaaaaaa', since: 0 };

describe('crash-loop detector', () => {
  it('calls exactly N quick unexpected exits within the window a loop', () => {
    const exits = [10, 20, 30, 40, 50].map((s) => exit(s));
    expect(detectCrashLoop(exits, scope, policy)).toEqual({ count: 5, loop: true, firstAt: NOW - 50_000 });
  });

  it('does not call N-1 exits a loop', () => {
    const exits = [10, 20, 30, 40].map((s) => exit(s));
    expect(detectCrashLoop(exits, scope, policy)).toMatchObject({ count: 4, loop: false });
  });

  it('still counts an exit exactly one window old, not one a millisecond older', () => {
    const inside = [...[10, 20, 30, 40].map((s) => exit(s)), exit(300)];
    expect(detectCrashLoop(inside, scope, policy).loop).toBe(true);
    const outside = [...[10, 20, 30, 40].map((s) => exit(s)), { ...exit(300), at: NOW - 300_001 }];
    expect(detectCrashLoop(outside, scope, policy)).toMatchObject({ count: 4, loop: false });
  });

  it('ignores an exit stamped in the future (a clock step)', () => {
    const exits = [...[10, 20, 30, 40].map((s) => exit(s)), exit(-5)];
    expect(detectCrashLoop(exits, scope, policy).count).toBe(4);
  });

  it('counts an uptime just under the minimum and not one exactly at it', () => {
    expect(isCrash(exit(1, { uptimeMs: 59_999 }), policy)).toBe(true);
    expect(isCrash(exit(1, { uptimeMs: 60_000 }), policy)).toBe(false);
    const exits = [10, 20, 30, 40].map((s) => exit(s)).concat(exit(50, { uptimeMs: 60_000 }));
    expect(detectCrashLoop(exits, scope, policy).loop).toBe(false);
  });

  it('counts an exit whose uptime is unknown', () => {
    expect(isCrash(exit(1, { uptimeMs: null }), policy)).toBe(true);
  });

  it('never counts manual restarts and stops', () => {
    const exits = [10, 20, 30, 40, 50, 60].map((s) => exit(s, { manual: true }));
    expect(detectCrashLoop(exits, scope, policy)).toEqual({ count: 0, loop: false, firstAt: null });
  });

  it('records but never counts the crash-test exit (75)', () => {
    const exits = [10, 20, 30, 40, 50, 60, 70].map((s) => exit(s, { exitCode: 75 }));
    expect(detectCrashLoop(exits, scope, policy).loop).toBe(false);
    expect(isCrash(exit(1, { exitCode: 75 }), policy)).toBe(false);
  });

  it('does not count bad configuration (78), which PM2 does not restart', () => {
    expect(isCrash(exit(1, { exitCode: 78 }), policy)).toBe(false);
  });

  it('counts a crash from a signal or a clean exit PM2 did not ask for', () => {
    expect(isCrash(exit(1, { exitCode: null }), policy)).toBe(true);
    expect(isCrash(exit(1, { exitCode: 0 }), policy)).toBe(true);
  });

  it('counts only the revision that runs', () => {
    const exits = [10, 20, 30]
      .map((s) => exit(s, { revision: 'r1-bbbbbbb' }))
      .concat([40, 50].map((s) => exit(s)));
    expect(detectCrashLoop(exits, scope, policy).count).toBe(2);
  });

  it('starts counting again after a release, rollback or resume', () => {
    const exits = [10, 20, 30, 40, 50].map((s) => exit(s));
    const since = NOW - 30_000;
    expect(detectCrashLoop(exits, { ...scope, since }, policy).count).toBe(2);
    // an exit at the very instant of the reset belongs to before it
    expect(detectCrashLoop([exit(30)], { ...scope, since }, policy).count).toBe(0);
  });

  it('mixes: only quick unexpected exits of this revision in the window make the count', () => {
    const exits = [
      exit(5),
      exit(6, { manual: true }),
      exit(7, { exitCode: 75 }),
      exit(8, { uptimeMs: 120_000 }),
      exit(9, { revision: null }),
      exit(400),
      exit(11),
      exit(12),
      exit(13),
    ];
    expect(detectCrashLoop(exits, scope, policy)).toMatchObject({ count: 4, loop: false });
    expect(detectCrashLoop(exits, scope, { ...policy, restarts: 4 }).loop).toBe(true);
  });
});
