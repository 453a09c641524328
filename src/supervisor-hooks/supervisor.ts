// The supervisor's state machine: PM2's lifecycle events and a periodic check in, decisions
// (pure, in crash-loop.ts and policy.ts) out, every step recorded in the supervisor tables. It is
// also the judge of self-release requests (self-release.ts): the release of its own code that a
// chat asked for is made here, never by the worker that asked.
//
// Everything runs one step at a time (a promise chain), so an event, a check and a catch-up
// never interleave. All that matters survives a restart of the supervisor: the exits are counted
// from the database, and where `current` must point is the newest release or rollback event.
import { describeError, type Logger } from '../shared/log';
import { SUPERVISOR_APP, WORKER_APP } from '../shared/contracts';
import { EXIT } from '../shared/exit-codes';
import { seconds } from '../shared/seconds';
import type { SupervisorConfig } from './config';
import { type CrashLoopPolicy, type CrashLoopVerdict, detectCrashLoop } from './crash-loop';
import {
  type CandidateRun,
  classifyExit,
  decideOnCrashLoop,
  describeSymptom,
  isHung,
  notReadySymptom,
  overdueReadiness,
  shouldPromote,
  type Symptom,
} from './policy';
import type { AppInfo, LifecycleEvent, ProcessManager } from './process-manager';
import { pointCurrentAt, removeLeftovers, revisionAvailable, workerScriptPath } from './releases';
import {
  currentRevision,
  ensureInitialRevision,
  haltWorker,
  intendedRevision,
  promoteRevision,
  pruneRevisions,
  type RevisionContext,
  revisionFacts,
  rollbackRevision,
  rollbackTargetFor,
} from './revisions';
import { handleSelfReleaseRequest } from './self-release';
import { RESET_EVENTS, type SupervisorStore, type WorkerStatus } from './store';

/** What the supervisor works with; the clock and PM2 are injected so tests can drive them. */
export interface SupervisorDeps {
  readonly config: SupervisorConfig;
  readonly store: SupervisorStore;
  readonly pm: ProcessManager;
  readonly now: () => number;
  readonly log: Logger;
}

// A status the supervisor set for a reason that PM2's `online`/`stop` events must not hide.
const STICKY: ReadonlySet<WorkerStatus | null> = new Set<WorkerStatus | null>([
  'halted',
  'rolled_back',
  'starting',
]);
const RUNNING = new Set(['online', 'launching']);
/** How long after a release or rollback is recorded its command gets to restart the worker itself. */
const STALE_GRACE_MS = 30_000;

/** The detector's answer, and whether it judged a candidate. */
type Verdict = CrashLoopVerdict & { readonly candidate: boolean };

/** A failure that condemns the code that runs: what it is recorded as, and what was seen. */
interface Failure {
  /** A crash loop (also the state's status until the rollback or halt), or a candidate's failure. */
  readonly event: 'crash_loop' | 'not_ready' | 'config_exit';
  readonly symptom: Symptom;
  readonly detail?: Record<string, unknown>;
}

/** A candidate's exit with 78: bad configuration that PM2 will not retry, so it is judged at once. */
function configExit(uptimeMs: number | null): Failure {
  const lived = uptimeMs === null ? '' : ` after ${seconds(uptimeMs, true)}`;
  return {
    event: 'config_exit',
    symptom: (revision) =>
      `${revision} exited with ${EXIT.config} (bad configuration)${lived}, which PM2 does not restart`,
    detail: { exitCode: EXIT.config, uptimeMs },
  };
}

/** Watches `autonous-worker` over the PM2 bus; see docs/supervisor.md. */
export class Supervisor {
  private chain: Promise<void> = Promise.resolve();
  private tickQueued = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The start time of the run whose exit was recorded last (PM2 may report an exit twice). */
  private lastExitStartedAt: number | null = null;
  /** The start time of the run the watchdog killed last. */
  private watchdogStartedAt: number | null = null;
  /** False when PM2 does not run the worker through our `current` link: no rollback possible. */
  private linked = true;
  private readonly ctx: RevisionContext;
  private readonly policy: CrashLoopPolicy;

  constructor(private readonly deps: SupervisorDeps) {
    const { config, store } = deps;
    this.ctx = { store, releasesDir: config.releasesDir, home: config.home, keep: config.keepRevisions };
    this.policy = {
      restarts: config.crashLoopRestarts,
      windowMs: config.crashLoopWindowMs,
      minUptimeMs: config.minUptimeMs,
      promoteAfterMs: config.promoteAfterMs,
    };
  }

  /**
   * Subscribes to the bus, catches up with PM2 and the records, then checks every `tickMs`
   * (0: only when `tick()` is called). `notes` are recorded first (e.g. secrets found in the
   * environment).
   */
  async start(tickMs: number, notes: readonly string[] = []): Promise<void> {
    const { store, now, pm, config } = this.deps;
    try {
      // the wall clock, not the injected one: it is compared with the files' own mtimes
      removeLeftovers(config.releasesDir, Date.now());
    } catch (err) {
      this.deps.log.warn('could not tidy the releases folder', { error: describeError(err) });
    }
    const lastExit = store.lastEvent(['exit']);
    if (lastExit?.uptimeMs != null) this.lastExitStartedAt = lastExit.at - lastExit.uptimeMs;
    store.record({
      at: now(),
      app: SUPERVISOR_APP,
      event: 'supervisor_start',
      detail: {
        crashLoopRestarts: config.crashLoopRestarts,
        windowSeconds: config.crashLoopWindowMs / 1000,
        minUptimeSeconds: config.minUptimeMs / 1000,
        promoteAfterSeconds: config.promoteAfterMs / 1000,
        heartbeatTimeoutSeconds: config.heartbeatTimeoutMs / 1000,
        readySeconds: config.readyTimeoutMs / 1000,
        releasesDir: config.releasesDir,
      },
    });
    for (const note of notes)
      store.record({ at: now(), app: SUPERVISOR_APP, event: 'secret_in_env', detail: note });
    await pm.subscribe(
      (event) => void this.handleEvent(event),
      () => void this.reconnected(),
    );
    await this.reconcile();
    if (tickMs > 0) {
      this.timer = setInterval(() => {
        if (!this.tickQueued) void this.tick();
      }, tickMs);
    }
  }

  /** Stops checking and waits for the step in progress. */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.chain;
  }

  /** Handles one lifecycle event (queued behind the step in progress). */
  handleEvent(event: LifecycleEvent): Promise<void> {
    if (event.app.name !== WORKER_APP) return Promise.resolve();
    return this.serial('event', () => this.onEvent(event));
  }

  /**
   * The periodic check: a self-release request, watchdog, readiness and promotion of a candidate,
   * the crash count as the window slides.
   */
  tick(): Promise<void> {
    this.tickQueued = true;
    return this.serial('check', async () => {
      this.tickQueued = false;
      await this.onTick();
    });
  }

  /** Catches up after a start or a reconnect: finish what was decided, act on what was missed. */
  reconcile(): Promise<void> {
    return this.serial('catch-up', () => this.onReconcile());
  }

  private reconnected(): Promise<void> {
    this.deps.store.record({ at: this.deps.now(), app: SUPERVISOR_APP, event: 'reconnect' });
    return this.reconcile();
  }

  private serial(what: string, work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(async () => {
      if (this.closed && what !== 'event') return;
      try {
        await work();
      } catch (err) {
        this.deps.log.error(`the ${what} failed; the next check tries again`, { error: describeError(err) });
      }
    });
    this.chain = next;
    return next;
  }

  private async onEvent(event: LifecycleEvent): Promise<void> {
    const { store, now, log } = this.deps;
    const state = store.state();
    switch (event.event) {
      case 'online': {
        const revision = this.linkedRevision() ?? state?.revision ?? null;
        store.record({ at: event.at, event: 'online', revision, manual: event.manual });
        if (state?.status === 'halted') return this.enforceHalt('came online while halted');
        const status: WorkerStatus = state?.status === 'rolled_back' ? 'rolled_back' : 'online';
        store.updateState({ status, revision, reason: status === 'online' ? null : undefined }, now());
        return;
      }
      case 'exit':
        return this.onExit(event);
      case 'restart overlimit': {
        store.record({ at: event.at, event: event.event, revision: state?.revision ?? null });
        log.warn('PM2 gave up restarting the worker (too many unstable restarts)');
        if (state?.status === 'halted') return;
        return this.onFailure(state?.revision ?? null, {
          event: 'crash_loop',
          symptom: 'PM2 stopped restarting it after too many unstable restarts',
        });
      }
      case 'stop': {
        store.record({
          at: event.at,
          event: 'stop',
          revision: state?.revision ?? null,
          manual: event.manual,
        });
        if (!STICKY.has(state?.status ?? null))
          store.updateState({ status: 'stopped', reason: 'stopped by hand' }, now());
        return;
      }
      default:
        store.record({
          at: event.at,
          event: event.event,
          revision: state?.revision ?? null,
          manual: event.manual,
        });
    }
  }

  private async onExit(event: LifecycleEvent): Promise<void> {
    const { store, now, log } = this.deps;
    const app = event.app;
    const kind = classifyExit({
      status: app.status,
      startedAt: app.startedAt,
      manual: event.manual,
      lastExitStartedAt: this.lastExitStartedAt,
      watchdogStartedAt: this.watchdogStartedAt,
    });
    if (kind === 'duplicate') return;
    this.lastExitStartedAt = app.startedAt;
    const state = store.state();
    const revision = state?.revision ?? this.linkedRevision();
    const uptimeMs = app.startedAt > 0 ? Math.max(0, event.at - app.startedAt) : null;
    store.record({
      at: event.at,
      event: 'exit',
      exitCode: app.exitCode,
      uptimeMs,
      manual: kind !== 'unexpected',
      revision,
      detail: kind === 'unexpected' ? null : { kind },
    });
    if (kind === 'manual' || state?.status === 'halted') {
      store.updateState({ lastExitCode: app.exitCode }, now());
      return;
    }
    if (kind === 'watchdog') {
      // counts only against a candidate (see isCrash); the watchdog already set the status
      const verdict = this.evaluate(revision, now());
      store.updateState({ lastExitCode: app.exitCode, restartsInWindow: verdict.count }, now());
      if (verdict.loop) await this.onFailure(revision, this.crashLoop(verdict));
      return;
    }
    const code = app.exitCode;
    if (code === EXIT.config && revision !== null && store.revision(revision)?.status === 'candidate') {
      // PM2 will not start it again, and a release that cannot start is the release's fault:
      // waiting for the operator would leave the worker down for nothing
      log.error(`candidate ${revision} exited with ${EXIT.config} (bad configuration): rolling it back`);
      store.updateState({ lastExitCode: code }, now());
      await this.onFailure(revision, configExit(uptimeMs));
      return;
    }
    if (code === EXIT.config) {
      log.error(`the worker exited with ${EXIT.config} (bad configuration); PM2 does not restart it`);
      store.updateState(
        {
          status: 'stopped',
          lastExitCode: code,
          reason: `exited with ${EXIT.config} (bad configuration), which PM2 does not restart: fix the variable named in the worker log, then \`pm2 restart ${WORKER_APP}\``,
        },
        now(),
      );
      return;
    }
    const verdict = this.evaluate(revision, now());
    const lived = uptimeMs === null ? '' : ` after ${seconds(uptimeMs, true)}`;
    const reason =
      code === EXIT.suicide
        ? `deliberate crash-test exit (${EXIT.suicide})${lived}`
        : `exited with code ${code ?? '?'}${lived}`;
    store.updateState(
      { status: 'crashed', reason, lastExitCode: code, restartsInWindow: verdict.count },
      now(),
    );
    log.warn(`the worker ${reason}`, { revision, crashesInWindow: verdict.count });
    if (verdict.loop) await this.onFailure(revision, this.crashLoop(verdict));
  }

  private crashLoop(verdict: Verdict): Failure {
    return { event: 'crash_loop', symptom: this.symptom(verdict) };
  }

  private symptom(verdict: Verdict): string {
    const { config } = this.deps;
    if (verdict.candidate) {
      return `crashed ${verdict.count} times since it was put in place (a hang killed by the watchdog counts), each before it had run the ${seconds(config.promoteAfterMs, true)} that make a candidate good`;
    }
    return `crashed ${verdict.count} times within ${seconds(config.crashLoopWindowMs, true)} (each after less than ${seconds(config.minUptimeMs, true)})`;
  }

  /**
   * Counts the crashes of `revision` since the last release, rollback or resume: in the window,
   * or all of them while it is a candidate (see `CrashLoopScope`).
   */
  private evaluate(revision: string | null, now: number): Verdict {
    const { store } = this.deps;
    const since = store.lastEvent(RESET_EVENTS)?.at ?? 0;
    const candidate = revision !== null && store.revision(revision)?.status === 'candidate';
    const exits = store.exitsSince(candidate ? since : Math.max(since, now - this.policy.windowMs - 1));
    return { ...detectCrashLoop(exits, { now, revision, since, candidate }, this.policy), candidate };
  }

  /**
   * The code that runs failed (a crash loop, or a candidate not ready in time or exiting 78):
   * roll back to a good revision, or halt (see `decideOnCrashLoop`).
   */
  private async onFailure(revision: string | null, failure: Failure): Promise<void> {
    const { store, now, log, pm } = this.deps;
    const current = this.linkedRevision();
    // The failure is of a revision that no longer runs (a rollback is already under way).
    if (revision !== null && current !== null && revision !== current) return;
    const record = revision === null ? null : store.revision(revision);
    const failing =
      record === null ? null : (revisionFacts(this.ctx).find((r) => r.id === record.id) ?? null);
    const target = this.linked && failing !== null ? rollbackTargetFor(this.ctx, failing.id) : null;
    const decision = decideOnCrashLoop(failing, target, failure.symptom);
    const symptom =
      typeof failure.symptom === 'string'
        ? failure.symptom
        : describeSymptom(failure.symptom, revision ?? 'code that is not a recorded revision');
    const at = now();
    store.transaction(() => {
      store.record({
        at,
        event: failure.event,
        revision,
        detail: { symptom, decision: decision.action, ...failure.detail },
      });
      if (failure.event === 'crash_loop') store.updateState({ status: 'crash_loop', reason: symptom }, at);
    });
    const what = failure.event.replace('_', ' ');
    if (decision.action === 'rollback') {
      log.error(`${what}: rolling back from ${revision ?? '?'} to ${decision.to}`, { symptom });
      rollbackRevision(
        this.ctx,
        { from: revision, to: decision.to, reason: decision.reason, markBad: true },
        at,
      );
      await pm.restart(WORKER_APP);
      return;
    }
    log.error(`${what}: halting the worker`, { reason: decision.reason });
    haltWorker(this.ctx, { revision, reason: decision.reason, markBad: decision.markBad }, at);
    await pm.stop(WORKER_APP);
  }

  /**
   * Judges the oldest self-release request, if any (see `handleSelfReleaseRequest`), and restarts
   * the worker on what it released. True when it released.
   */
  private async serveSelfRelease(): Promise<boolean> {
    const { now, log, pm } = this.deps;
    const handled = handleSelfReleaseRequest(this.ctx, now(), this.linked);
    if (handled === null || handled.action === 'waiting') return false;
    if (handled.action === 'failed') {
      log.warn(`self-release #${handled.request.id} was not released: ${handled.reason}`);
      return false;
    }
    const id = handled.released.revision.id;
    log.info(`self-release #${handled.request.id} released as ${id}: restarting the worker on it`);
    await pm.restart(WORKER_APP);
    return true;
  }

  private async enforceHalt(why: string): Promise<void> {
    const { store, now, log, pm } = this.deps;
    log.warn(`the worker ${why}: stopping it again (run \`autonous supervisor resume\` to end the halt)`);
    store.record({ at: now(), event: 'halt_enforced', detail: { why } });
    await pm.stop(WORKER_APP);
  }

  private async onTick(): Promise<void> {
    const { store, now, pm, config, log } = this.deps;
    // before the halt check: a release ends a halt
    if (await this.serveSelfRelease()) return;
    const app = (await pm.list()).find((a) => a.name === WORKER_APP);
    if (!app) return;
    const state = store.state();
    if (state?.status === 'halted') {
      if (RUNNING.has(app.status) || app.status === 'waiting restart')
        await this.enforceHalt(`is ${app.status}`);
      return;
    }
    const at = now();
    const verdict = this.evaluate(state?.revision ?? null, at);
    if (state !== null && verdict.count !== state.restartsInWindow) {
      store.updateState({ restartsInWindow: verdict.count }, at);
    }
    if (this.linked && (await this.restartIfStale(app, at))) return;
    if (app.status !== 'online' || app.startedAt <= 0) return;
    const heartbeatAt = store.heartbeatAt();
    const run = { now: at, startedAt: app.startedAt, heartbeatAt };
    if (isHung(run, config.heartbeatTimeoutMs) && this.watchdogStartedAt !== app.startedAt) {
      const silentMs = at - Math.max(app.startedAt, heartbeatAt ?? 0);
      const reason = `hung: no heartbeat for ${seconds(silentMs, true)}; killed so that PM2 restarts it`;
      log.error(`the worker is ${reason}`);
      this.watchdogStartedAt = app.startedAt;
      store.transaction(() => {
        store.record({
          at,
          event: 'watchdog',
          revision: state?.revision ?? null,
          detail: { lastHeartbeatAt: heartbeatAt, silentMs, timeoutMs: config.heartbeatTimeoutMs },
        });
        store.updateState({ status: 'crashed', reason }, at);
      });
      // A blocked event loop cannot run the SIGINT handler, so PM2's graceful stop would only
      // wait out kill_timeout: SIGKILL at once, and PM2's automatic restart brings it back.
      await pm.signal(WORKER_APP, 'SIGKILL');
      return;
    }
    const current = currentRevision(this.ctx);
    const revision = current === null ? null : store.revision(current);
    // when `current` was pointed at it (by the records, whose clock is the supervisor's)
    const intended = intendedRevision(this.ctx);
    const pointedAt = intended === null ? 0 : intended.id === current ? intended.at : null;
    if (revision === null || revision.status !== 'candidate' || pointedAt === null) return;
    const candidate: CandidateRun = {
      ...run,
      revisionStatus: revision.status,
      pointedAt,
      pid: app.pid,
      readiness: store.readiness(),
    };
    // unlinked, PM2 runs something else than the candidate: its readiness says nothing of it
    const overdue = this.linked ? overdueReadiness(candidate, config.readyTimeoutMs) : null;
    if (overdue !== null) {
      await this.onFailure(revision.id, {
        event: 'not_ready',
        symptom: notReadySymptom(overdue, config.readyTimeoutMs),
        detail: { missing: overdue, pid: app.pid, startedAt: app.startedAt },
      });
      return;
    }
    if (
      shouldPromote(candidate, config.promoteAfterMs, config.heartbeatTimeoutMs) &&
      promoteRevision(this.ctx, revision.id, { ranFor: at - app.startedAt }, at)
    ) {
      log.info(`revision ${revision.id} ran well for ${seconds(at - app.startedAt, true)}: it is good now`);
      pruneRevisions(this.ctx);
    }
  }

  private async onReconcile(): Promise<void> {
    const { store, now, pm, config, log } = this.deps;
    const app = (await pm.list()).find((a) => a.name === WORKER_APP);
    this.checkLink(app);
    if (this.linked) ensureInitialRevision(this.ctx, now());
    const state = store.state();
    const intended = intendedRevision(this.ctx);
    const current = currentRevision(this.ctx);

    // A release or rollback recorded but not carried out (its process was killed half-way).
    if (
      this.linked &&
      intended !== null &&
      intended.id !== current &&
      revisionAvailable(config.releasesDir, intended.id)
    ) {
      log.warn(`finishing an interrupted move of current to ${intended.id}`);
      pointCurrentAt(config.releasesDir, intended.id);
      if (app && state?.status !== 'halted') await pm.restart(WORKER_APP);
      return;
    }
    if (await this.serveSelfRelease()) return;
    if (!app) return;
    if (state?.status === 'halted') {
      if (RUNNING.has(app.status) || app.status === 'waiting restart')
        await this.enforceHalt(`is ${app.status}`);
      return;
    }
    // Running code from before the last move of `current`: its restart did not happen.
    if (RUNNING.has(app.status) && intended !== null && app.startedAt > 0 && app.startedAt < intended.at) {
      this.restartStale(intended.id, now());
      await pm.restart(WORKER_APP);
      return;
    }
    const verdict = this.evaluate(state?.revision ?? null, now());
    if (verdict.loop) {
      await this.onFailure(state?.revision ?? null, this.crashLoop(verdict));
      return;
    }
    // A candidate's exit with 78 that was recorded but not acted on (the supervisor was killed
    // in between): PM2 does not restart it, so nothing else would.
    const exit = store.lastEvent(['exit']);
    if (
      !RUNNING.has(app.status) &&
      app.status !== 'waiting restart' &&
      exit !== null &&
      exit.exitCode === EXIT.config &&
      exit.manual !== true &&
      exit.revision !== null &&
      exit.revision === current &&
      exit.at > (store.lastEvent(RESET_EVENTS)?.at ?? 0) &&
      store.revision(exit.revision)?.status === 'candidate'
    ) {
      await this.onFailure(exit.revision, configExit(exit.uptimeMs));
      return;
    }
    if (state === null || state.status === null) {
      const status: WorkerStatus = RUNNING.has(app.status) ? 'online' : 'stopped';
      store.updateState({ status, revision: current, reason: null }, now());
    }
  }

  /**
   * The periodic twin of the catch-up's stale check: a worker still running code from before the
   * last release or rollback (the command could not restart it, e.g. it had the wrong PM2_HOME)
   * is restarted, once per move of `current` (a restart that does not take must not become a
   * restart loop), and only after `STALE_GRACE_MS`, the time the command gets to restart it
   * itself. True when it restarted.
   */
  private async restartIfStale(app: AppInfo, at: number): Promise<boolean> {
    const { store, pm } = this.deps;
    if (!RUNNING.has(app.status) || app.startedAt <= 0) return false;
    const intended = intendedRevision(this.ctx);
    if (intended === null || app.startedAt >= intended.at || at - intended.at < STALE_GRACE_MS) return false;
    const tried = store.lastEvent(['restart_stale']);
    if (tried !== null && tried.at >= intended.at) return false;
    this.restartStale(intended.id, at);
    await pm.restart(WORKER_APP);
    return true;
  }

  private restartStale(revision: string, at: number): void {
    this.deps.log.warn(`the worker started before current moved to ${revision}: restarting it`);
    this.deps.store.record({ at, event: 'restart_stale', revision });
  }

  /** Checks that PM2 runs the worker through our `current` link; says so once when it does not. */
  private checkLink(app: AppInfo | undefined): void {
    if (!app) return;
    const expected = workerScriptPath(this.deps.config.releasesDir);
    const linked = app.execPath === expected;
    if (!linked && this.linked) {
      const detail = `PM2 runs ${app.execPath || 'an unknown script'}, not ${expected}: revisions and rollback are off. TG_DB_PATH must be the same for \`pm2 start\` (the ecosystem file) and the supervisor.`;
      this.deps.log.error(detail);
      this.deps.store.record({ at: this.deps.now(), event: 'misconfigured', detail });
    }
    this.linked = linked;
  }

  private linkedRevision(): string | null {
    if (!this.linked) return null;
    try {
      return currentRevision(this.ctx);
    } catch {
      return null;
    }
  }
}
