import {
  chooseRollbackTarget,
  classifyExit,
  decideOnCrashLoop,
  isHung,
  type RevisionFacts,
  revisionsToPrune,
  shouldPromote,
} from '../../src/supervisor-hooks/policy';

const rev = (
  id: string,
  status: RevisionFacts['status'],
  createdAt: number,
  available = true,
): RevisionFacts => ({
  id,
  status,
  createdAt,
  available,
});

describe('classifyExit', () => {
  const base = {
    status: 'stopped',
    startedAt: 1000,
    manual: false,
    lastExitStartedAt: null,
    watchdogStartedAt: null,
  };

  it('calls an exit PM2 did not ask for unexpected', () => {
    expect(classifyExit(base)).toBe('unexpected');
  });
  it('calls an exit while PM2 is stopping the app manual', () => {
    expect(classifyExit({ ...base, status: 'stopping' })).toBe('manual');
    expect(classifyExit({ ...base, manual: true })).toBe('manual');
  });
  it('calls a second exit of the same run a duplicate, whatever its status', () => {
    expect(classifyExit({ ...base, lastExitStartedAt: 1000 })).toBe('duplicate');
    expect(classifyExit({ ...base, status: 'stopping', lastExitStartedAt: 1000 })).toBe('duplicate');
  });
  it('recognises the run the watchdog killed', () => {
    expect(classifyExit({ ...base, watchdogStartedAt: 1000 })).toBe('watchdog');
    expect(classifyExit({ ...base, watchdogStartedAt: 999 })).toBe('unexpected');
  });
});

describe('chooseRollbackTarget', () => {
  const revisions = [
    rev('r1-aaaaaaa', 'good', 1),
    rev('r2-bbbbbbb', 'good', 2),
    rev('r3-ccccccc', 'candidate', 3),
  ];

  it('prefers the revision that ran before the failing one was released', () => {
    expect(chooseRollbackTarget(revisions, 'r3-ccccccc', 'r1-aaaaaaa')).toBe('r1-aaaaaaa');
  });
  it('falls back to the newest good revision', () => {
    expect(chooseRollbackTarget(revisions, 'r3-ccccccc', null)).toBe('r2-bbbbbbb');
    expect(chooseRollbackTarget(revisions, 'r3-ccccccc', 'r9-fffffff')).toBe('r2-bbbbbbb');
  });
  it('never goes to the failing revision, a bad, a candidate or a missing one', () => {
    const list = [
      rev('r1-aaaaaaa', 'good', 1, false),
      rev('r2-bbbbbbb', 'bad', 2),
      rev('r3-ccccccc', 'candidate', 3),
      rev('r4-ddddddd', 'good', 4),
    ];
    expect(chooseRollbackTarget(list, 'r4-ddddddd', 'r1-aaaaaaa')).toBeNull();
  });
});

describe('decideOnCrashLoop', () => {
  it('rolls a candidate back when a good revision exists', () => {
    expect(decideOnCrashLoop(rev('r3-ccccccc', 'candidate', 3), 'r2-bbbbbbb', 'crashed 5 times')).toEqual({
      action: 'rollback',
      to: 'r2-bbbbbbb',
      markBad: true,
      reason: 'crashed 5 times on r3-ccccccc',
    });
  });
  it('halts a good revision, without marking it bad', () => {
    const decision = decideOnCrashLoop(rev('r2-bbbbbbb', 'good', 2), 'r1-aaaaaaa', 'crashed 5 times');
    expect(decision).toMatchObject({ action: 'halt', markBad: false });
    expect(decision.reason).toMatch(/r2-bbbbbbb.*had run well.*autonous supervisor resume/);
  });
  it('halts a candidate with nothing to go back to and marks it bad', () => {
    const decision = decideOnCrashLoop(rev('r3-ccccccc', 'candidate', 3), null, 'crashed 5 times');
    expect(decision).toMatchObject({ action: 'halt', markBad: true });
    expect(decision.reason).toMatch(/no good revision to roll back to/);
  });
  it('halts code that is not a recorded revision', () => {
    expect(decideOnCrashLoop(null, 'r1-aaaaaaa', 'crashed')).toMatchObject({
      action: 'halt',
      markBad: false,
    });
  });
  it('rolls back from a revision already marked bad', () => {
    expect(decideOnCrashLoop(rev('r3-ccccccc', 'bad', 3), 'r2-bbbbbbb', 'x')).toMatchObject({
      action: 'rollback',
    });
  });
});

describe('isHung', () => {
  const timeout = 90_000;
  it('is not hung at exactly the timeout, and is one millisecond later', () => {
    expect(isHung({ now: 190_000, startedAt: 0, heartbeatAt: 100_000 }, timeout)).toBe(false);
    expect(isHung({ now: 190_001, startedAt: 0, heartbeatAt: 100_000 }, timeout)).toBe(true);
  });
  it('gives a fresh run the whole timeout for its first heartbeat', () => {
    expect(isHung({ now: 150_000, startedAt: 100_000, heartbeatAt: 1 }, timeout)).toBe(false);
    expect(isHung({ now: 150_000, startedAt: 100_000, heartbeatAt: null }, timeout)).toBe(false);
    expect(isHung({ now: 200_000, startedAt: 100_000, heartbeatAt: null }, timeout)).toBe(true);
  });
  it('is off with a timeout of 0', () => {
    expect(isHung({ now: 10_000_000, startedAt: 0, heartbeatAt: null }, 0)).toBe(false);
  });
});

describe('shouldPromote', () => {
  const run = {
    now: 200_000,
    startedAt: 50_000,
    heartbeatAt: 199_000,
    revisionStatus: 'candidate' as const,
    pointedAt: 40_000,
    pid: 4242,
    // this process reported every part of readiness
    readiness: { pid: 4242, startedAt: 50_000, database: 50_100, poll: 51_000, selftest: 52_000 },
  };
  it('promotes a candidate that ran healthy long enough', () => {
    expect(shouldPromote(run, 120_000, 90_000)).toBe(true);
    expect(shouldPromote({ ...run, now: 170_000, heartbeatAt: 169_000 }, 120_000, 90_000)).toBe(true);
  });
  it('waits until the time is up', () => {
    expect(shouldPromote({ ...run, now: 169_999 }, 120_000, 90_000)).toBe(false);
  });
  it('needs a heartbeat from this run, and a fresh one when the watchdog is on', () => {
    expect(shouldPromote({ ...run, heartbeatAt: 49_999 }, 120_000, 90_000)).toBe(false);
    expect(shouldPromote({ ...run, heartbeatAt: null }, 120_000, 90_000)).toBe(false);
    expect(shouldPromote({ ...run, heartbeatAt: 100_000 }, 120_000, 90_000)).toBe(false);
    expect(shouldPromote({ ...run, heartbeatAt: 100_000 }, 120_000, 0)).toBe(true);
  });
  it('does not promote a process that started before current pointed at the revision', () => {
    expect(shouldPromote({ ...run, pointedAt: 50_001 }, 120_000, 90_000)).toBe(false);
  });
  it('only promotes candidates', () => {
    expect(shouldPromote({ ...run, revisionStatus: 'bad' }, 120_000, 90_000)).toBe(false);
    expect(shouldPromote({ ...run, revisionStatus: 'good' }, 120_000, 90_000)).toBe(false);
  });
  it('does not promote a run that has not reported every part of its readiness', () => {
    expect(shouldPromote({ ...run, readiness: null }, 120_000, 90_000)).toBe(false);
    for (const part of ['database', 'poll', 'selftest'] as const) {
      expect(shouldPromote({ ...run, readiness: { ...run.readiness, [part]: null } }, 120_000, 90_000)).toBe(
        false,
      );
    }
  });
  it("does not promote on another process's readiness", () => {
    expect(shouldPromote({ ...run, readiness: { ...run.readiness, pid: 4241 } }, 120_000, 90_000)).toBe(
      false,
    );
    // a pid PM2 did not give matches nothing, not even a row that says 0
    expect(shouldPromote({ ...run, pid: 0, readiness: { ...run.readiness, pid: 0 } }, 120_000, 90_000)).toBe(
      false,
    );
  });
});

describe('revisionsToPrune', () => {
  const list = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => ({ id: `r${n}-aaaaaaa`, createdAt: n }));
  it('keeps the newest N', () => {
    expect(revisionsToPrune(list, 5, new Set())).toEqual(['r3-aaaaaaa', 'r2-aaaaaaa', 'r1-aaaaaaa']);
  });
  it('keeps protected revisions however old', () => {
    expect(revisionsToPrune(list, 5, new Set(['r1-aaaaaaa']))).toEqual(['r3-aaaaaaa', 'r2-aaaaaaa']);
  });
  it('deletes nothing while there are N or fewer', () => {
    expect(revisionsToPrune(list.slice(0, 5), 5, new Set())).toEqual([]);
  });
});
