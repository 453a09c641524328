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

  describe('for a candidate (not yet promoted)', () => {
    const withPromote = { ...policy, promoteAfterMs: 120_000 };
    const candidate = { ...scope, candidate: true };

    it('counts an unexpected exit up to just under the promotion time, not one at it', () => {
      expect(isCrash(exit(1, { uptimeMs: 90_000 }), withPromote, true)).toBe(true);
      expect(isCrash(exit(1, { uptimeMs: 119_999 }), withPromote, true)).toBe(true);
      expect(isCrash(exit(1, { uptimeMs: 120_000 }), withPromote, true)).toBe(false);
    });

    it('counts a watchdog kill whatever its uptime, but no other manual exit', () => {
      const killed = exit(1, { manual: true, watchdog: true, exitCode: null, uptimeMs: 500_000 });
      expect(isCrash(killed, withPromote, true)).toBe(true);
      expect(isCrash(exit(1, { manual: true, uptimeMs: 1000 }), withPromote, true)).toBe(false);
    });

    it('still never counts the crash-test exit (75) or bad configuration (78)', () => {
      expect(isCrash(exit(1, { exitCode: 75 }), withPromote, true)).toBe(false);
      expect(isCrash(exit(1, { exitCode: 78 }), withPromote, true)).toBe(false);
    });

    it('calls N hangs a loop even when they are spread wider than the window', () => {
      const hangs = [100, 200, 300, 400, 500].map((s) =>
        exit(s, { manual: true, watchdog: true, exitCode: null, uptimeMs: 90_000 }),
      );
      expect(detectCrashLoop(hangs, candidate, withPromote)).toEqual({
        count: 5,
        loop: true,
        firstAt: NOW - 500_000,
      });
      // but only since the release, rollback or resume that put it in place
      expect(detectCrashLoop(hangs, { ...candidate, since: NOW - 450_000 }, withPromote).count).toBe(4);
    });

    it('keeps the rules of a good revision for a good one: no watchdog kills, no late exits, the window', () => {
      const exits = [
        exit(10, { manual: true, watchdog: true, exitCode: null }),
        exit(20, { uptimeMs: 90_000 }),
        exit(400),
        exit(30),
      ];
      expect(detectCrashLoop(exits, scope, withPromote).count).toBe(1);
      expect(detectCrashLoop(exits, candidate, withPromote).count).toBe(4);
      expect(isCrash(exit(1, { manual: true, watchdog: true }), withPromote)).toBe(false);
      expect(isCrash(exit(1, { uptimeMs: 90_000 }), withPromote)).toBe(false);
    });

    it('falls back to the minimum uptime when no promotion time is given', () => {
      expect(isCrash(exit(1, { uptimeMs: 60_000 }), policy, true)).toBe(false);
    });
  });
});
