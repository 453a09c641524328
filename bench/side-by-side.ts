// Benchmark: autonous side by side with the bots a user could pick instead, all on the same fake
// servers, started together, on this machine at once: a naive node-telegram-bot-api bot, grammY
// with @grammyjs/runner, and the built worker under a real PM2 at WORKER_CONCURRENCY 1 (with the
// supervisor) and 8. Rounds are interleaved (each contestant takes its turn while the others idle)
// after warm-up rounds that are not counted: Node bots speed up over their first thousands of
// messages, and whichever ran later would otherwise win. Then SIGKILL → next reply, then the claim
// scale (a prefilled inbox against an empty one). Prints a table of medians and the targets of
// issue 8, and writes every figure as JSON. It measures and prints; it is not a test.
//
//   BENCH_ROUNDS (5)  BENCH_WARMUP (2)  BENCH_SLOW_ROUNDS (3)  BENCH_KILLS (5)
//   BENCH_CLAIM_SCALE=0 skips the claim scale  BENCH_QUICK=1 a short smoke run  BENCH_OUT=<file.json>
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runClaimScale, type ClaimScaleResult } from './lib/claim-scale';
import { REPO, restartDelaysMs, startAutonous, startBaseline, type Contestant } from './lib/contestants';
import {
  renderTable,
  renderTargets,
  summarize,
  targets,
  type ContestantFigures,
  type Lineup,
  type RoundFigures,
} from './lib/report';
import { RssSampler, rssMb } from './lib/rss';
import { burst, chatRange, idleLatency, killToReply, slowModel, type Shape } from './lib/workloads';

const QUICK = process.env.BENCH_QUICK === '1';

function setting(name: string, normal: number, quick: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? (QUICK ? quick : normal) : Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, not ${raw}.`);
  return value;
}

const ROUNDS = Math.max(1, setting('BENCH_ROUNDS', 5, 1));
const WARMUP = setting('BENCH_WARMUP', 2, 1);
// The slow model takes 30 s a round for each one-lane contestant and varies little: fewer rounds.
const SLOW_ROUNDS = Math.min(ROUNDS, setting('BENCH_SLOW_ROUNDS', 3, 1));
const KILLS = setting('BENCH_KILLS', 5, 1);
const CLAIM_SCALE = process.env.BENCH_CLAIM_SCALE !== '0';
// a claim-scale burst not answered by then ends that comparison with the throughput it reached
const CLAIM_DEADLINE_S = setting('BENCH_CLAIM_DEADLINE_S', 60, 30);
const BURST: Shape = QUICK ? { chats: 5, perChat: 10 } : { chats: 10, perChat: 30 };
const IDLE_MESSAGES = QUICK ? 5 : 20;
const SLOW: Shape = QUICK ? { chats: 10, perChat: 2 } : { chats: 20, perChat: 5 };
const MODEL_MS = 300;
const CLAIM = QUICK
  ? { doneRows: 100_000, historyRows: 10_000 }
  : { doneRows: 1_000_000, historyRows: 100_000 };
// After a restart, PM2 resets its backoff once the app ran EXP_BACKOFF_RESET_TIMER (set to 2 s
// in contestants.ts) at its next check (PM2_WORKER_INTERVAL, 1 s): each kill waits this long.
const KILL_SPACING_MS = 5000;

// Chat ids: the burst's, the slow model's, the idle one, the one the kills go to.
const BURST_CHATS = chatRange(101, BURST.chats);
const SLOW_CHATS = chatRange(201, SLOW.chats);
const IDLE_CHAT = 301;
const KILL_CHAT = 302;
const ALLOWED = [...BURST_CHATS, ...SLOW_CHATS, IDLE_CHAT, KILL_CHAT];
// @grammyjs/runner's default sink concurrency: as many as come, here limited by the chats.
const GRAMMY_LANES = 500;

const live = new Set<Contestant>();
let stopping: Promise<void> | undefined;

/** Stops every contestant (PM2 daemons included); safe to call more than once. */
function stopAll(): Promise<void> {
  stopping ??= Promise.allSettled([...live].map((c) => c.stop())).then(() => undefined);
  return stopping;
}

function helpersMb(c: Contestant): Record<string, number> {
  return Object.fromEntries([...c.helperPids()].map(([name, pid]) => [name, rssMb(pid)]));
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function checkBuilt(): void {
  const missing = [
    [path.join(REPO, 'dist', 'worker', 'main.js'), 'dist/ (npm run build)'],
    [path.join(REPO, 'dist-bench', 'node_modules'), 'dist-bench/node_modules (bench/run.js links it)'],
  ].filter(([file]) => !fs.existsSync(file!));
  if (missing.length > 0)
    throw new Error(`missing ${missing.map(([, what]) => what).join(' and ')}: run it as npm run bench.`);
}

async function startContestants(): Promise<Lineup<Contestant>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-sbs-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const started = await Promise.allSettled([
    startBaseline('naive', 'naive-bot', 1),
    startBaseline('grammY runner', 'grammy-bot', GRAMMY_LANES),
    startAutonous({
      name: 'autonous c=1',
      concurrency: 1,
      allowedChats: ALLOWED,
      dbPath: path.join(dir, 'c1', 'agent.db'),
      withSupervisor: true,
    }),
    startAutonous({
      name: 'autonous c=8',
      concurrency: 8,
      allowedChats: ALLOWED,
      dbPath: path.join(dir, 'c8', 'agent.db'),
    }),
  ]);
  for (const s of started) if (s.status === 'fulfilled') live.add(s.value);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const [naive, grammy, c1, c8] = started.map((s) => (s as PromiseFulfilledResult<Contestant>).value);
  return { naive: naive!, grammy: grammy!, c1: c1!, c8: c8! };
}

function emptyFigures(c: Contestant): ContestantFigures {
  return {
    name: c.name,
    lanes: c.lanes,
    rssFreshMb: rssMb(c.pid()),
    helpersFreshMb: helpersMb(c),
    warmup: [],
    rounds: [],
    killsMs: [],
    restartDelaysMs: [],
    lost: 0,
  };
}

async function main(): Promise<void> {
  checkBuilt();
  const startedAt = new Date();
  const load = os.loadavg();
  console.log(
    `side by side on ${os.cpus().length} cores (load ${load.map((l) => l.toFixed(1)).join(' ')}), node ${process.version}: ` +
      `${WARMUP} warm-up + ${ROUNDS} rounds (slow model in ${SLOW_ROUNDS}), ${KILLS} kills${QUICK ? ', QUICK' : ''}`,
  );
  const lineup = await startContestants();
  const all = [lineup.naive, lineup.grammy, lineup.c1, lineup.c8];
  const autonous = [lineup.c1, lineup.c8];
  // whatever the apps do once after starting (the supervisor records the first revision) is over
  await pause(3000);
  for (const c of autonous) {
    const restarts = await c.pm2!.restarts('autonous-worker');
    if (restarts > 0) console.log(`note: ${c.name}'s worker restarted ${restarts}× while starting`);
  }
  const figures = new Map(all.map((c) => [c, emptyFigures(c)] as const));
  const fig = (c: Contestant): ContestantFigures => figures.get(c)!;
  console.log(`started: ${all.map((c) => `${c.name} ${fig(c).rssFreshMb.toFixed(0)} MB`).join(', ')}`);

  const sampler = new RssSampler(() => new Map(all.map((c) => [c.name, c.pid()])));
  sampler.start();
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    const counted = round >= WARMUP;
    const order = all.map((_, i) => all[(i + round) % all.length]!);
    const done: string[] = [];
    for (const c of order) {
      const rssIdleMb = rssMb(c.pid());
      const helpersIdleMb = helpersMb(c);
      sampler.reset();
      const idle = await idleLatency(c, IDLE_CHAT, IDLE_MESSAGES);
      const b = await burst(c, BURST_CHATS, BURST.perChat);
      const rssAfterBurstMb = rssMb(c.pid());
      const slow =
        counted && round - WARMUP < SLOW_ROUNDS
          ? await slowModel(c, SLOW_CHATS, SLOW.perChat, MODEL_MS)
          : undefined;
      const rssPeakMb = sampler.peak(c.name);
      if (!counted) {
        fig(c).warmup.push({ burstPerSecond: b.perSecond, idleP50Ms: idle.p50Ms });
      } else {
        const r: RoundFigures = {
          burstPerSecond: b.perSecond,
          idleP50Ms: idle.p50Ms,
          idleP95Ms: idle.p95Ms,
          ...(slow ? { slowRatio: slow.ratio, slowMakespanSeconds: slow.makespanSeconds } : {}),
          rssIdleMb,
          rssAfterBurstMb,
          rssPeakMb,
          helpersIdleMb,
        };
        fig(c).rounds.push(r);
      }
      done.push(
        `${c.name} ${b.perSecond.toFixed(0)} msg/s, p50 ${idle.p50Ms.toFixed(1)} ms` +
          (slow ? `, slow ${slow.ratio.toFixed(2)}×` : '') +
          (b.complete ? '' : `, LOST ${b.messages - b.answered} of ${b.messages} burst replies`),
      );
      if (!b.complete) fig(c).lost += b.messages - b.answered;
    }
    console.log(`${counted ? `round ${round - WARMUP + 1}` : `warm-up ${round + 1}`}: ${done.join('; ')}`);
  }
  sampler.stop();

  // SIGKILL → next reply, autonous only: the baselines have no process manager to restart them.
  const lastReply = new Map<Contestant, number>();
  for (let k = 0; k < KILLS; k++) {
    for (const c of autonous) {
      const since = performance.now() - (lastReply.get(c) ?? -Infinity);
      if (since < KILL_SPACING_MS) await pause(KILL_SPACING_MS - since);
      fig(c).killsMs.push(await killToReply(c, KILL_CHAT, `after kill ${k + 1}`));
      lastReply.set(c, performance.now());
    }
  }
  for (const c of autonous) fig(c).restartDelaysMs = restartDelaysMs(c.pm2!);
  if (KILLS > 0) {
    console.log(
      `kills: ${autonous
        .map(
          (c) =>
            `${c.name} ${fig(c)
              .killsMs.map((ms) => ms.toFixed(0))
              .join(', ')} ms (PM2 restart delays ${fig(c).restartDelaysMs.join(', ')} ms)`,
        )
        .join('; ')}`,
    );
  }
  await stopAll();

  let claim: ClaimScaleResult | undefined;
  if (CLAIM_SCALE) {
    claim = await runClaimScale(
      {
        ...CLAIM,
        burstChats: BURST.chats,
        burstPerChat: BURST.perChat,
        warmup: WARMUP,
        rounds: ROUNDS,
        deadlineMs: CLAIM_DEADLINE_S * 1000,
      },
      (c) => live.add(c),
    );
    console.log(
      `claim scale: ${claim.doneRows} done rows + ${claim.historyRows} history rows prefilled in ${claim.prefillSeconds.toFixed(1)} s; ` +
        `empty ${claim.emptyPerSecond.map((v) => v.toFixed(1)).join(', ')} msg/s, prefilled ${claim.prefilledPerSecond.map((v) => v.toFixed(1)).join(', ')} msg/s`,
    );
    if (claim.timedOut) {
      const t = claim.timedOut;
      console.log(
        `claim scale stopped: ${t.who}'s burst had ${t.answered} of ${t.messages} replies after ${t.seconds.toFixed(0)} s (BENCH_CLAIM_DEADLINE_S)`,
      );
    }
  }

  const summaries: Lineup<ReturnType<typeof summarize>> = {
    naive: summarize(fig(lineup.naive)),
    grammy: summarize(fig(lineup.grammy)),
    c1: summarize(fig(lineup.c1)),
    c8: summarize(fig(lineup.c8)),
  };
  const met = targets(summaries, claim);
  const labels = {
    burst: `${BURST.chats} chats × ${BURST.perChat} msgs at once`,
    idle: `${IDLE_MESSAGES} msgs one at a time`,
    slow: `${SLOW.chats} chats × ${SLOW.perChat} msgs, ${MODEL_MS} ms model`,
    kills: `median of ${KILLS}`,
    claim: `c=1, ${CLAIM.doneRows.toLocaleString('en')} done rows + ${CLAIM.historyRows.toLocaleString('en')} history`,
  };
  console.log(
    `\nMedians over ${ROUNDS} rounds after ${WARMUP} warm-up rounds` +
      ` (lanes for the ideal makespan: ${all.map((c) => `${c.name} ${Math.min(c.lanes, SLOW.chats)}`).join(', ')}):\n`,
  );
  console.log(
    renderTable(
      all.map((c) => c.name),
      [summaries.naive, summaries.grammy, summaries.c1, summaries.c8],
      claim,
      labels,
    ),
  );
  console.log(`\n${renderTargets(met)}`);

  const out =
    process.env.BENCH_OUT ||
    path.join(
      REPO,
      'dist-bench',
      'results',
      `side-by-side-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`,
    );
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const result = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, loadAtStart: load, node: process.version, platform: process.platform },
    settings: {
      quick: QUICK,
      rounds: ROUNDS,
      warmup: WARMUP,
      slowRounds: SLOW_ROUNDS,
      kills: KILLS,
      burst: BURST,
      idleMessages: IDLE_MESSAGES,
      slow: SLOW,
      modelMs: MODEL_MS,
      claim: CLAIM_SCALE ? CLAIM : null,
    },
    contestants: all.map((c) => ({ ...fig(c), summary: summarize(fig(c)) })),
    claimScale: claim ?? null,
    targets: met,
  };
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nresults: ${out}`);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping every bot and PM2 daemon`);
    void stopAll().then(() => process.exit(130));
  });
}

void main()
  .catch((err: unknown) => {
    if (!interrupted) {
      console.error(err);
      process.exitCode = 1;
    }
  })
  .finally(() => stopAll().then(() => process.exit(interrupted ? 130 : undefined)));
