// `revisions ls` and `revisions show`: the revisions the supervisor keeps, where each came from and
// what its checks said. Pure: the records and the clock are arguments.
import type { CheckSummary } from '../../shared/contracts';
import { SELF_RELEASE_ORIGIN } from '../../shared/contracts';
import { escapeHidden } from '../../shared/escape-text';
import { CLI_ORIGIN, FIRST_START_ORIGIN } from '../../supervisor-hooks/revisions';
import { parseCheckSummary } from '../../supervisor-hooks/self-release';
import type { EventRecord, RevisionRecord, SelfReleaseOutcome } from '../../supervisor-hooks/store';
import type { Paint } from './colour';
import { renderFields, renderTable } from './table';
import { cut } from './text';
import { formatAge, formatTime } from './time';

/** A revision with the self-release that made it, if one did. */
export interface RevisionView {
  readonly revision: RevisionRecord;
  readonly selfRelease: SelfReleaseOutcome | null;
}

/** One revision as `revisions ls --json` prints it. */
export interface RevisionJson {
  readonly id: string;
  readonly status: string;
  readonly current: boolean;
  readonly reason: string | null;
  readonly source: string | null;
  readonly path: string;
  readonly createdAt: number;
  readonly promotedAt: number | null;
  readonly badAt: number | null;
  /** `cli`, `first-start`, `self-release`; null for revisions from before this was kept. */
  readonly origin: string | null;
  readonly commit: string | null;
  readonly checks: CheckSummary | null;
  /** The self-release that made it: its number and where it stands. */
  readonly selfRelease: { readonly id: number; readonly status: string } | null;
}

/** The JSON of `revisions ls`. Pure. */
export function revisionsJson(views: readonly RevisionView[], current: string | null): RevisionJson[] {
  return views.map(({ revision: r, selfRelease }) => ({
    id: r.id,
    status: r.status,
    current: r.id === current,
    reason: r.reason,
    source: r.source,
    path: r.path,
    createdAt: r.createdAt,
    promotedAt: r.promotedAt,
    badAt: r.badAt,
    origin: r.origin,
    commit: r.commit,
    checks: parseCheckSummary(r.checks),
    selfRelease: selfRelease === null ? null : { id: selfRelease.id, status: selfRelease.status },
  }));
}

const short = (commit: string): string => commit.slice(0, 7);

/** Where a revision came from, in a few words: `cli @1a2b3c4`, `first start`, `self-release #3 @1a2b3c4`. Pure. */
export function describeOrigin(view: RevisionView): string | null {
  const { origin, commit } = view.revision;
  const at = commit === null ? '' : ` @${short(commit)}`;
  switch (origin) {
    case null:
      return null;
    case FIRST_START_ORIGIN:
      return 'first start';
    case CLI_ORIGIN:
      return `cli${at}`;
    case SELF_RELEASE_ORIGIN:
      return `self-release${view.selfRelease === null ? '' : ` #${view.selfRelease.id}`}${at}`;
    default:
      return `${origin}${at}`;
  }
}

/** What a revision's checks said, in a few words: `passed, 42 tests`, `failed, 3 of 42 tests`; null when none ran. Pure. */
export function describeChecks(checks: CheckSummary | null): string | null {
  if (checks === null) return null;
  const tests = checks.tests;
  if (checks.passed) return tests === null ? 'passed' : `passed, ${tests.total} tests`;
  if (checks.timedOut) return `timed out after ${Math.round(checks.seconds)} s`;
  if (tests !== null && tests.failed > 0) return `failed, ${tests.failed} of ${tests.total} tests`;
  return `failed (exit ${checks.exitCode ?? '?'})`;
}

const paintStatus = (s: string, p: Paint): string =>
  s === 'good' ? p.green(s) : s === 'bad' ? p.red(s) : p.yellow(s);

/** The table of `revisions ls`, newest first, `current` marked with `*`. Pure. */
export function renderRevisions(
  views: readonly RevisionView[],
  current: string | null,
  now: number,
  p: Paint,
): string {
  if (views.length === 0) {
    return 'No revisions yet: the supervisor records the first one when it starts, `autonous release` adds more.';
  }
  const rows = views.map((view) => {
    const r = view.revision;
    return [
      r.id === current ? '*' : '',
      r.id,
      paintStatus(r.status, p),
      formatAge(r.createdAt, now),
      r.status === 'bad' ? formatAge(r.badAt, now) : formatAge(r.promotedAt, now),
      describeOrigin(view),
      describeChecks(parseCheckSummary(r.checks)),
      cut(r.status === 'bad' ? (r.reason ?? '') : (r.source ?? ''), 60),
    ];
  });
  return renderTable(
    ['', 'REVISION', 'STATUS', 'CREATED', 'GOOD/BAD', 'ORIGIN', 'CHECKS', 'SOURCE OR REASON'],
    rows,
    p,
  );
}

/** What `revisions show` prints: the revision, its checks, its events. */
export interface RevisionDetail extends RevisionView {
  readonly current: boolean;
  readonly events: readonly EventRecord[];
}

/** `revisions show` as fields, the checks, and a table of the revision's events. Pure. */
export function renderRevisionDetail(detail: RevisionDetail, now: number, p: Paint): string {
  const r = detail.revision;
  const when = (at: number | null): string =>
    at === null ? '-' : `${formatTime(at)} (${formatAge(at, now)})`;
  const fields: [string, string][] = [
    ['revision', `${r.id}${detail.current ? ' (current)' : ''}`],
    ['status', paintStatus(r.status, p)],
    ['created', when(r.createdAt)],
  ];
  if (r.promotedAt !== null) fields.push(['good since', when(r.promotedAt)]);
  if (r.badAt !== null) fields.push(['bad since', when(r.badAt)]);
  if (r.reason !== null) fields.push(['reason', escapeHidden(r.reason)]);
  fields.push(['origin', describeOrigin(detail) ?? '-']);
  fields.push(['commit', r.commit ?? '-']);
  fields.push(['source', escapeHidden(r.source ?? '-')]);
  fields.push(['path', escapeHidden(r.path)]);
  const sr = detail.selfRelease;
  if (sr !== null) {
    const to = sr.rolledBackTo === null ? '' : ` to ${sr.rolledBackTo}`;
    const why = sr.reason === null ? '' : `: ${escapeHidden(sr.reason)}`;
    fields.push(['self-release', `#${sr.id}, ${sr.status.replace('_', ' ')}${to}${why}`]);
  }
  const parts = [renderFields(fields, p), '', p.bold('Checks'), renderChecks(parseCheckSummary(r.checks), p)];
  parts.push('', p.bold('Events'), renderRevisionEvents(detail.events, p));
  return parts.join('\n');
}

function renderChecks(checks: CheckSummary | null, p: Paint): string {
  if (checks === null) return 'None recorded (only a self-release is checked before it is released).';
  const fields: [string, string][] = [
    ['result', describeChecks(checks) ?? '-'],
    ['command', escapeHidden(checks.command)],
    ['exit code', checks.exitCode === null ? '-' : String(checks.exitCode)],
    ['took', `${Math.round(checks.seconds)} s`],
  ];
  if (checks.tests !== null) {
    const t = checks.tests;
    fields.push(['tests', `${t.passed} passed, ${t.failed} failed, ${t.total} in all`]);
  }
  return renderFields(fields, p);
}

function renderRevisionEvents(events: readonly EventRecord[], p: Paint): string {
  if (events.length === 0) return 'None recorded.';
  return renderTable(
    ['ID', 'AT', 'EVENT', 'EXIT', 'DETAIL'],
    events.map((e) => [
      e.id,
      formatTime(e.at),
      ['crash_loop', 'rollback', 'halt', 'watchdog', 'not_ready', 'config_exit'].includes(e.event)
        ? p.red(e.event)
        : e.event,
      e.exitCode,
      cut(e.detail ?? '', 100) || null,
    ]),
    p,
  );
}
