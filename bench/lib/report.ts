// The side-by-side benchmark's figures, its table and the targets of issue 8 they are held to.
import { markdown } from './markdown-table';
import { max, median } from './stats';

/** What one contestant did in one counted round. */
export interface RoundFigures {
  readonly burstPerSecond: number;
  readonly idleP50Ms: number;
  readonly idleP95Ms: number;
  /** Slow-model makespan ÷ ideal; absent in rounds without the slow workload. */
  readonly slowRatio?: number;
  readonly slowMakespanSeconds?: number;
  /** RSS just before its turn, after idling while the others ran. */
  readonly rssIdleMb: number;
  /** RSS right after the burst's last reply. */
  readonly rssAfterBurstMb: number;
  /** Highest RSS sampled during its turn. */
  readonly rssPeakMb: number;
  /** RSS of its helper processes (supervisor, PM2 daemon) before its turn. */
  readonly helpersIdleMb: Readonly<Record<string, number>>;
}

/** Everything measured of one contestant. */
export interface ContestantFigures {
  readonly name: string;
  readonly lanes: number;
  /** RSS after start, before any message. */
  readonly rssFreshMb: number;
  readonly helpersFreshMb: Readonly<Record<string, number>>;
  readonly warmup: { burstPerSecond: number; idleP50Ms: number }[];
  readonly rounds: RoundFigures[];
  /** SIGKILL → next reply, one per kill (autonous only). */
  readonly killsMs: number[];
  /** The restart delays PM2 chose for those kills, from its log. */
  restartDelaysMs: number[];
  /** Burst replies that never came, over every round (warm-up included): a bot that drops messages. */
  lost: number;
}

/** The claim-scale comparison (autonous c=1 on a prefilled vs an empty inbox). */
export interface ClaimScaleFigures {
  readonly doneRows: number;
  readonly historyRows: number;
  readonly emptyPerSecond: readonly number[];
  readonly prefilledPerSecond: readonly number[];
  readonly ratio: number;
  readonly timedOut?: { readonly who: string; readonly answered: number; readonly messages: number };
}

/** One target of issue 8, item 4. */
export interface Target {
  readonly what: string;
  /** The measured figure (a ratio, MB or seconds, as `unit` says). */
  readonly value: number;
  readonly unit: '×' | 'MB' | 's';
  readonly op: '≥' | '≤';
  readonly limit: number;
  readonly met: boolean;
}

/** The medians the table shows, per contestant. */
export interface Summary {
  readonly burstPerSecond: number;
  readonly idleP50Ms: number;
  readonly idleP95Ms: number;
  readonly slowRatio: number;
  readonly slowMakespanSeconds: number;
  readonly killMs: number;
  readonly lost: number;
  readonly rssFreshMb: number;
  readonly rssIdleMb: number;
  readonly rssAfterBurstMb: number;
  readonly rssPeakMb: number;
  readonly rssPeakMaxMb: number;
  readonly helpersFreshMb: Readonly<Record<string, number>>;
  readonly helpersIdleMb: Readonly<Record<string, number>>;
}

/** Medians over the counted rounds (and over the kills). */
export function summarize(c: ContestantFigures): Summary {
  const of = (pick: (r: RoundFigures) => number | undefined): number[] =>
    c.rounds.map(pick).filter((v): v is number => v !== undefined);
  const helpers = new Set(c.rounds.flatMap((r) => Object.keys(r.helpersIdleMb)));
  return {
    burstPerSecond: median(of((r) => r.burstPerSecond)),
    idleP50Ms: median(of((r) => r.idleP50Ms)),
    idleP95Ms: median(of((r) => r.idleP95Ms)),
    slowRatio: median(of((r) => r.slowRatio)),
    slowMakespanSeconds: median(of((r) => r.slowMakespanSeconds)),
    killMs: median(c.killsMs),
    lost: c.lost,
    rssFreshMb: c.rssFreshMb,
    rssIdleMb: median(of((r) => r.rssIdleMb)),
    rssAfterBurstMb: median(of((r) => r.rssAfterBurstMb)),
    rssPeakMb: median(of((r) => r.rssPeakMb)),
    rssPeakMaxMb: max(of((r) => r.rssPeakMb)),
    helpersFreshMb: c.helpersFreshMb,
    helpersIdleMb: Object.fromEntries(
      [...helpers].map((h) => [h, median(of((r) => r.helpersIdleMb[h]))] as const),
    ),
  };
}

function target(what: string, value: number, unit: Target['unit'], op: Target['op'], limit: number): Target {
  const met = Number.isFinite(value) && (op === '≥' ? value >= limit : value <= limit);
  return { what, value, unit, op, limit, met };
}

/** The keys of the four contestants, as the targets refer to them. */
export interface Lineup<T> {
  readonly naive: T;
  readonly grammy: T;
  readonly c1: T;
  readonly c8: T;
}

/** Holds the figures to the targets of issue 8, item 4. */
export function targets(s: Lineup<Summary>, claim: ClaimScaleFigures | undefined): Target[] {
  const list = [
    target('burst: autonous c=1 ÷ naive', s.c1.burstPerSecond / s.naive.burstPerSecond, '×', '≥', 0.9),
    target(
      'burst: autonous c=8 ÷ grammY runner',
      s.c8.burstPerSecond / s.grammy.burstPerSecond,
      '×',
      '≥',
      1.0,
    ),
    target('idle p50: autonous c=1 ÷ naive', s.c1.idleP50Ms / s.naive.idleP50Ms, '×', '≤', 1.2),
    target('idle p50: autonous c=8 ÷ naive', s.c8.idleP50Ms / s.naive.idleP50Ms, '×', '≤', 1.2),
    target('worker RSS idle (fresh): c=1 ÷ naive', s.c1.rssFreshMb / s.naive.rssFreshMb, '×', '≤', 1.3),
    target('worker RSS idle (fresh): c=8 ÷ naive', s.c8.rssFreshMb / s.naive.rssFreshMb, '×', '≤', 1.3),
    target(
      'worker RSS after burst: c=1 ÷ naive',
      s.c1.rssAfterBurstMb / s.naive.rssAfterBurstMb,
      '×',
      '≤',
      1.0,
    ),
    target(
      'worker RSS after burst: c=8 ÷ naive',
      s.c8.rssAfterBurstMb / s.naive.rssAfterBurstMb,
      '×',
      '≤',
      1.0,
    ),
    target('supervisor RSS idle (fresh)', s.c1.helpersFreshMb.supervisor ?? NaN, 'MB', '≤', 50),
  ];
  if (claim) list.push(target('claim scale: prefilled ÷ empty burst (c=1)', claim.ratio, '×', '≥', 0.9));
  list.push(
    target('SIGKILL → reply, c=1 (median)', s.c1.killMs / 1000, 's', '≤', 0.5),
    target('SIGKILL → reply, c=8 (median)', s.c8.killMs / 1000, 's', '≤', 0.5),
  );
  return list;
}

function fixed(value: number | undefined, digits: number, unit = ''): string {
  return value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(digits)}${unit}`;
}

// Two decimals, or two significant digits for a ratio so small that two decimals show 0.00.
function ratio(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return `${Math.abs(value) >= 0.1 ? value.toFixed(2) : value.toPrecision(2)}×`;
}

/** The table: rows are measures, columns the contestants (medians over the counted rounds). */
export function renderTable(
  names: readonly string[],
  summaries: readonly Summary[],
  claim: ClaimScaleFigures | undefined,
  labels: { burst: string; idle: string; slow: string; kills: string; claim: string },
): string {
  const row = (label: string, cell: (s: Summary, i: number) => string): string[] => [
    label,
    ...summaries.map(cell),
  ];
  const helper = (s: Summary, name: string, fresh: boolean): string =>
    fixed((fresh ? s.helpersFreshMb : s.helpersIdleMb)[name], 0);
  const rows = [
    row(`burst: ${labels.burst}, model instant (msg/s)`, (s) => fixed(s.burstPerSecond, 0)),
    row(`idle: ${labels.idle}, send → reply p50 (ms)`, (s) => fixed(s.idleP50Ms, 1)),
    row(`idle: send → reply p95 (ms)`, (s) => fixed(s.idleP95Ms, 1)),
    row(`slow model: ${labels.slow}, makespan ÷ ideal`, (s) => ratio(s.slowRatio)),
    row(`slow model: makespan (s)`, (s) => fixed(s.slowMakespanSeconds, 2)),
    row(`SIGKILL → next reply, ${labels.kills} (ms)`, (s) => fixed(s.killMs, 0)),
    row('burst replies lost, all rounds', (s) => fixed(s.lost, 0)),
    row('RSS idle, fresh (MB)', (s) => fixed(s.rssFreshMb, 0)),
    row('RSS idle, between rounds (MB)', (s) => fixed(s.rssIdleMb, 0)),
    row('RSS after the burst (MB)', (s) => fixed(s.rssAfterBurstMb, 0)),
    row('RSS peak during its turn (MB)', (s) => fixed(s.rssPeakMb, 0)),
    row('supervisor RSS idle, fresh / between rounds (MB)', (s) =>
      s.helpersFreshMb.supervisor === undefined
        ? '–'
        : `${helper(s, 'supervisor', true)} / ${helper(s, 'supervisor', false)}`,
    ),
    row('PM2 daemon RSS, fresh / between rounds (MB)', (s) =>
      s.helpersFreshMb['pm2 daemon'] === undefined
        ? '–'
        : `${helper(s, 'pm2 daemon', true)} / ${helper(s, 'pm2 daemon', false)}`,
    ),
    row(`claim scale: ${labels.claim}, prefilled ÷ empty burst`, (_s, i) =>
      claim && i === names.indexOf('autonous c=1')
        ? `${ratio(claim.ratio)} (${fixed(median(claim.prefilledPerSecond), 1)} / ${fixed(median(claim.emptyPerSecond), 1)} msg/s` +
          (claim.timedOut
            ? `; ${claim.timedOut.who}: ${claim.timedOut.answered} of ${claim.timedOut.messages} by the deadline)`
            : ')')
        : '–',
    ),
  ];
  return markdown(['measure', ...names], rows);
}

/** The targets as lines `met` / `NOT MET`. */
export function renderTargets(list: readonly Target[]): string {
  const value = (t: Target): string =>
    t.unit === '×' ? ratio(t.value) : t.unit === 'MB' ? fixed(t.value, 0, ' MB') : fixed(t.value, 2, ' s');
  const limit = (t: Target): string => (t.unit === '×' ? `${t.limit}×` : `${t.limit} ${t.unit}`);
  const rows = list.map((t) => [t.what, value(t), `${t.op} ${limit(t)}`, t.met ? 'met' : 'NOT MET']);
  return markdown(['target (issue 8, item 4)', 'measured', 'target', ''], rows);
}
