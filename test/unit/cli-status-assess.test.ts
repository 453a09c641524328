import type { Pm2Snapshot } from '../../src/cli/pm2';
import { assessStatus, type StatusSnapshot, type StatusThresholds } from '../../src/cli/status/assess';
import type { SupervisorRecords, SupervisorView } from '../../src/cli/status/supervisor';
import type { WorkerStatus } from '../../src/supervisor-hooks/store';
import type { EdgeHealth } from '../../src/shared/health';

const NOW = 1_700_000_000_000;
const LIMITS: StatusThresholds = {
  heartbeatTimeoutMs: 90_000,
  maxWaitMs: 600_000,
  deadWindowMs: 3_600_000,
  maxPollFailureMs: 120_000,
};
const WORKING: EdgeHealth = { lastOkAt: NOW - 1000, failingSince: null, lastError: null, lastErrorAt: null };

const online = (name: string) => ({
  name,
  status: 'online',
  restarts: 0,
  uptimeMs: 1000,
  memoryBytes: 1,
  cpuPercent: 0,
  pid: 1,
});

const healthyPm2: Pm2Snapshot = {
  reachable: true,
  home: '/tmp/pm2',
  apps: [online('autonous-worker'), online('autonous-supervisor')],
};

const worker = (status: WorkerStatus, reason: string | null = null): SupervisorView => ({
  status,
  reason,
  restartsInWindow: 0,
  lastExitCode: null,
  revision: 'r1',
  since: NOW - 60_000,
  updatedAt: NOW,
});

function snapshot(overrides: {
  pm2?: Pm2Snapshot;
  supervisor?: Partial<SupervisorRecords>;
  queue?: Partial<StatusSnapshot['queue']>;
  health?: Partial<StatusSnapshot['health']>;
}): StatusSnapshot {
  return {
    now: NOW,
    pm2: overrides.pm2 ?? healthyPm2,
    supervisor: {
      worker: worker('online'),
      heartbeatAt: NOW - 5000,
      revision: null,
      ...overrides.supervisor,
    },
    queue: {
      counts: { queued: 0, processing: 0, done: 10, failed: 0, dead: 0, skipped: 0, parked: 0 },
      oldestWaitingAt: null,
      deadRecent: 0,
      ...overrides.queue,
    },
    health: { polling: WORKING, model: WORKING, ...overrides.health },
  };
}

describe('assessStatus', () => {
  it('finds nothing wrong in a healthy system', () => {
    expect(assessStatus(snapshot({}), LIMITS)).toEqual({ problems: [], warnings: [] });
  });

  it('warns of an allowed group that became a supergroup until TG_ALLOWED_CHAT_IDS names it', () => {
    const migrated = { ...snapshot({}), migrations: new Map([[-1009876543210, -100]]) };
    expect(assessStatus(migrated, LIMITS)).toEqual({
      problems: [],
      warnings: [expect.stringContaining('Replace -100 by -1009876543210 in TG_ALLOWED_CHAT_IDS')],
    });
  });

  it('calls an unreachable PM2 daemon a problem', () => {
    const result = assessStatus(
      snapshot({ pm2: { reachable: false, home: '/x', error: 'no daemon' } }),
      LIMITS,
    );
    expect(result.problems).toEqual([expect.stringContaining('PM2 is not reachable (no daemon)')]);
  });

  it('calls a missing app or an app not online a problem', () => {
    const pm2: Pm2Snapshot = {
      reachable: true,
      home: '/x',
      apps: [{ ...online('autonous-worker'), status: 'errored' }],
    };
    const { problems } = assessStatus(snapshot({ pm2 }), LIMITS);
    expect(problems).toEqual([
      expect.stringContaining('autonous-worker is errored'),
      expect.stringContaining('no app autonous-supervisor'),
    ]);
  });

  it('calls crash_loop, halted and stopped problems, with the reason', () => {
    for (const status of ['crash_loop', 'halted', 'stopped'] as const) {
      const { problems } = assessStatus(
        snapshot({ supervisor: { worker: worker(status, 'revision r2 is bad') } }),
        LIMITS,
      );
      expect(problems).toEqual([`The supervisor reports the worker ${status}: revision r2 is bad.`]);
    }
  });

  it('only warns after a rollback or a crash', () => {
    for (const status of ['rolled_back', 'crashed'] as const) {
      const result = assessStatus(snapshot({ supervisor: { worker: worker(status) } }), LIMITS);
      expect(result.problems).toEqual([]);
      expect(result.warnings).toHaveLength(1);
    }
  });

  it('calls a heartbeat older than the timeout a problem, and a missing one a warning', () => {
    const edge = assessStatus(snapshot({ supervisor: { heartbeatAt: NOW - 90_000 } }), LIMITS);
    expect(edge.problems).toEqual([]);
    const stale = assessStatus(snapshot({ supervisor: { heartbeatAt: NOW - 90_001 } }), LIMITS);
    expect(stale.problems).toEqual([expect.stringContaining('last heartbeat was 1m 30s ago')]);
    const never = assessStatus(snapshot({ supervisor: { heartbeatAt: null } }), LIMITS);
    expect(never).toEqual({ problems: [], warnings: ['The worker has not written a heartbeat yet.'] });
  });

  it('does not judge the heartbeat when the watchdog is off', () => {
    const off = { ...LIMITS, heartbeatTimeoutMs: null };
    expect(assessStatus(snapshot({ supervisor: { heartbeatAt: NOW - 3_600_000 } }), off).problems).toEqual(
      [],
    );
  });

  it('calls a message waiting longer than allowed a problem', () => {
    expect(assessStatus(snapshot({ queue: { oldestWaitingAt: NOW - 600_000 } }), LIMITS).problems).toEqual(
      [],
    );
    expect(assessStatus(snapshot({ queue: { oldestWaitingAt: NOW - 600_001 } }), LIMITS).problems).toEqual([
      expect.stringContaining('oldest waiting message arrived 10m ago'),
    ]);
  });

  it('calls a recent dead letter a problem', () => {
    expect(assessStatus(snapshot({ queue: { deadRecent: 2 } }), LIMITS).problems).toEqual([
      '2 messages died in the last 1h: see `autonous queue dead`.',
    ]);
  });

  it('calls polling that has failed for longer than --max-poll-failure a problem, naming the error', () => {
    const failing = (forMs: number): EdgeHealth => ({
      lastOkAt: NOW - forMs - 5000,
      failingSince: NOW - forMs,
      lastError: 'Telegram getUpdates failed: fetch failed: getaddrinfo ENOTFOUND api.telegram.org',
      lastErrorAt: NOW - 1000,
    });
    const long = assessStatus(snapshot({ health: { polling: failing(180_000) } }), LIMITS);
    expect(long.problems).toEqual([
      'Polling Telegram has failed for 3m: Telegram getUpdates failed: fetch failed: getaddrinfo ENOTFOUND api.telegram.org (limit 2m). Check the network and TELEGRAM_API_ROOT.',
    ]);
    const short = assessStatus(snapshot({ health: { polling: failing(30_000) } }), LIMITS);
    expect(short.problems).toEqual([]);
    expect(short.warnings[0]).toMatch(/^Polling Telegram has failed for 30s/);
  });

  it("warns about the model's calls failing", () => {
    const model: EdgeHealth = {
      lastOkAt: null,
      failingSince: NOW - 60_000,
      lastError: 'OpenAI answered 500',
      lastErrorAt: NOW,
    };
    expect(assessStatus(snapshot({ health: { model } }), LIMITS).warnings).toEqual([
      "The model's calls have been failing for 1m: OpenAI answered 500.",
    ]);
  });
});
