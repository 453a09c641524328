/**
 * The readiness a candidate must report before it is promoted, and the deadline after which a
 * candidate that has not is rolled back: pure decisions, tested on their edges.
 */
import type { Readiness } from '../../src/shared/contracts';
import { loadSupervisorConfig } from '../../src/supervisor-hooks/config';
import {
  type CandidateRun,
  decideOnCrashLoop,
  missingReadiness,
  notReadySymptom,
  overdueReadiness,
} from '../../src/supervisor-hooks/policy';

const READY: Readiness = { pid: 300, startedAt: 10_000, database: 10_050, poll: 10_400, selftest: 10_900 };

describe('missingReadiness', () => {
  it('finds nothing missing when this process reported every part', () => {
    expect(missingReadiness(READY, 300)).toEqual([]);
  });
  it('names the parts still null, in the order a start reaches them', () => {
    expect(missingReadiness({ ...READY, poll: null, selftest: null }, 300)).toEqual(['poll', 'selftest']);
    expect(missingReadiness({ ...READY, database: null }, 300)).toEqual(['database']);
  });
  it("counts every part missing when the row is another process's, absent, or the pid is not known", () => {
    const all = ['database', 'poll', 'selftest'];
    expect(missingReadiness(READY, 301)).toEqual(all);
    expect(missingReadiness(null, 300)).toEqual(all);
    expect(missingReadiness({ ...READY, pid: 0 }, 0)).toEqual(all);
  });
});

describe('overdueReadiness', () => {
  const run: CandidateRun = {
    now: 70_000,
    startedAt: 10_000,
    heartbeatAt: 69_000,
    revisionStatus: 'candidate',
    pointedAt: 9_000,
    pid: 300,
    readiness: { ...READY, poll: null },
  };
  const timeout = 60_000;

  it('judges a candidate that is not ready exactly at the deadline, not a millisecond before', () => {
    expect(overdueReadiness({ ...run, now: 69_999 }, timeout)).toBeNull();
    expect(overdueReadiness(run, timeout)).toEqual(['poll']);
  });
  it('leaves a candidate alone once it is ready, however late', () => {
    expect(overdueReadiness({ ...run, now: 500_000, readiness: READY }, timeout)).toBeNull();
  });
  it('never judges a good or bad revision on readiness', () => {
    expect(overdueReadiness({ ...run, revisionStatus: 'good', readiness: null }, timeout)).toBeNull();
    expect(overdueReadiness({ ...run, revisionStatus: 'bad', readiness: null }, timeout)).toBeNull();
  });
  it('does not judge a run that started before current pointed at the candidate, or whose start is unknown', () => {
    expect(overdueReadiness({ ...run, pointedAt: 10_001 }, timeout)).toBeNull();
    expect(overdueReadiness({ ...run, startedAt: 0, pointedAt: 0 }, timeout)).toBeNull();
  });
  it("takes an earlier process's readiness for none", () => {
    expect(overdueReadiness({ ...run, readiness: { ...READY, pid: 299 } }, timeout)).toEqual([
      'database',
      'poll',
      'selftest',
    ]);
  });
});

describe('notReadySymptom', () => {
  it('names the revision, the deadline and the one part it did not reach', () => {
    const symptom = notReadySymptom(['poll'], 60_000);
    expect(typeof symptom === 'function' && symptom('r7-1a2b3c4')).toBe(
      'r7-1a2b3c4 was not ready 60 s after it started: it did not answer a poll of Telegram',
    );
  });
  it('lists several parts as one sentence, and becomes the reason of the rollback', () => {
    const decision = decideOnCrashLoop(
      { id: 'r7-1a2b3c4', status: 'candidate', createdAt: 1, available: true },
      'r6-0000000',
      notReadySymptom(['database', 'poll', 'selftest'], 90_000),
    );
    expect(decision).toEqual({
      action: 'rollback',
      to: 'r6-0000000',
      markBad: true,
      reason:
        'r7-1a2b3c4 was not ready 90 s after it started: it did not open and migrate its database, answer a poll of Telegram or take a self-test item through its scheduler',
    });
  });
});

describe('SUPERVISOR_READY_SECONDS', () => {
  it('defaults to 60 s and is read in seconds', () => {
    expect(loadSupervisorConfig({ AUTONOUS_HOME: '/srv/a' }).readyTimeoutMs).toBe(60_000);
    expect(loadSupervisorConfig({ SUPERVISOR_READY_SECONDS: '5' }).readyTimeoutMs).toBe(5_000);
  });
});
