import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { type Env, loadEnvironment, projectHome, readThreshold } from '../../shared/env';
import { releasesDirFor } from '../../supervisor-hooks/config';
import { buildWorker, readCurrent, type SnapshotSource } from '../../supervisor-hooks/releases';
import {
  CLI_ORIGIN,
  releaseRevision,
  type RevisionContext,
  rollbackRevision,
  rollbackTargetFor,
} from '../../supervisor-hooks/revisions';
import { type RevisionRecord, SupervisorStore } from '../../supervisor-hooks/store';
import type { CliContext } from '../context';
import { globalOptions } from '../context';
import { resolveDbPath, withDatabase } from '../database';
import { CliError } from '../errors';
import { paint } from '../render/colour';
import { renderRevisionDetail, renderRevisions, type RevisionView, revisionsJson } from '../render/revisions';
import {
  register as registerSupervisor,
  reportNotRestarted,
  type Restart,
  restartWorker,
} from './supervisor';

const EXAMPLES = `
Examples:
  $ autonous release                      # build the working tree and release it
  $ autonous release --from /tmp/build/dist
  $ autonous revisions ls
  $ autonous revisions show r3            # where it came from, its checks, its events
  $ autonous rollback                     # back to the newest good revision
  $ autonous rollback --to r3-1a2b3c4

A release is a candidate until it has run healthy for SUPERVISOR_PROMOTE_AFTER_SECONDS; the
supervisor rolls a crash-looping candidate back by itself. \`rollback\` marks the revision it
leaves bad only when that is still a candidate: a good one stays good, and \`rollback --to\` can
return to it. See docs/supervisor.md, section Revisions.`;

/** Where the revisions of the database in use live, and the project they run with. */
function revisionContext(file: string, env: Env, store: SupervisorStore): RevisionContext {
  const settings = loadEnvironment(
    env,
    (name) => name === 'AUTONOUS_HOME' || name === 'SUPERVISOR_KEEP_REVISIONS',
  );
  const keep = readThreshold(settings, 'SUPERVISOR_KEEP_REVISIONS');
  return { store, releasesDir: releasesDirFor(file), home: projectHome(settings), keep };
}

/** Says the worker now runs `id`, or reports (exit 1) that it still runs the old code. */
function reportRestart(ctx: CliContext, restart: Restart, done: string, id: string, json: boolean): void {
  if (restart.restarted) {
    if (!json) ctx.out.print(`The worker was restarted on ${id}.`);
    return;
  }
  reportNotRestarted(ctx, done, restart.why);
}

/** `git describe`-like words for a build of the working tree, when it is a git checkout. */
function describeCheckout(home: string): string {
  const git = (args: string[]): string | null => {
    const result = spawnSync('git', ['-C', home, ...args], { encoding: 'utf8', timeout: 10000 });
    return result.status === 0 ? result.stdout.trim() : null;
  };
  const commit = git(['rev-parse', '--short', 'HEAD']);
  if (commit === null) return `a build of ${home}`;
  const dirty = (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '';
  return `a build of ${home} at ${commit}${dirty ? ' with uncommitted changes' : ''}`;
}

/**
 * The commit checked out where `dir` lies, when it is in a git checkout and git is there; null
 * otherwise (a release does not need it, so nothing fails for want of it).
 */
function checkoutCommit(dir: string): string | null {
  const result = spawnSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8', timeout: 10000 });
  const commit = result.status === 0 ? result.stdout.trim() : '';
  return /^[0-9a-f]{7,64}$/.test(commit) ? commit : null;
}

/** The migrations that go with a dist folder: its sibling `drizzle/`, else the project's. */
function drizzleFor(distDir: string, home: string): string {
  const sibling = path.join(path.dirname(distDir), 'drizzle');
  return fs.existsSync(path.join(sibling, 'meta', '_journal.json')) ? sibling : path.join(home, 'drizzle');
}

/** Finds a revision by its id or by its `rN` prefix. */
function findRevision(revisions: readonly RevisionRecord[], wanted: string): RevisionRecord {
  const exact = revisions.find((r) => r.id === wanted);
  if (exact) return exact;
  const byNumber = revisions.filter((r) => r.id.startsWith(`${wanted}-`));
  if (byNumber.length === 1) return byNumber[0] as RevisionRecord;
  const known = revisions.map((r) => r.id).join(', ') || 'none';
  throw new CliError(`There is no revision ${wanted} (known: ${known}); see \`autonous revisions ls\`.`);
}

/** Each revision with the self-release that made it, if one did. */
function revisionViews(store: SupervisorStore, revisions: readonly RevisionRecord[]): RevisionView[] {
  return revisions.map((revision) => ({ revision, selfRelease: store.selfReleaseOf(revision.id) }));
}

/** Registers `release`, `rollback`, `revisions ls`, and the `supervisor` group. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('release')
    .description('snapshot a built worker as a candidate revision, point current at it, restart the worker')
    .option('--from <dir>', 'a built dist/ folder (default: a fresh build of the working tree)')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: { from?: string }, command: Command) => {
      const g = globalOptions(command);
      const file = resolveDbPath(g.db, ctx.env);
      const released = withDatabase(file, (handle) => {
        const rc = revisionContext(file, ctx.env, new SupervisorStore(handle));
        let source: SnapshotSource;
        let label: string;
        let buildDir: string | null = null;
        let commit: string | null;
        if (opts.from !== undefined) {
          const distDir = path.resolve(opts.from);
          source = { distDir, drizzleDir: drizzleFor(distDir, rc.home) };
          label = distDir;
          commit = checkoutCommit(fs.existsSync(distDir) ? distDir : path.dirname(distDir));
        } else {
          fs.mkdirSync(rc.releasesDir, { recursive: true, mode: 0o700 });
          // `.staging-` so that a killed build is tidied by the supervisor
          buildDir = fs.mkdtempSync(path.join(rc.releasesDir, '.staging-build-'));
          ctx.out.error(`Building the worker from ${rc.home} ...`);
          buildWorker(rc.home, path.join(buildDir, 'dist'));
          source = { distDir: path.join(buildDir, 'dist'), drizzleDir: path.join(rc.home, 'drizzle') };
          label = describeCheckout(rc.home);
          commit = checkoutCommit(rc.home);
        }
        try {
          return releaseRevision(rc, source, label, ctx.now(), { origin: CLI_ORIGIN, commit });
        } catch (err) {
          throw err instanceof CliError
            ? err
            : new CliError(err instanceof Error ? err.message : String(err));
        } finally {
          if (buildDir !== null) fs.rmSync(buildDir, { recursive: true, force: true });
        }
      });
      const restart = await restartWorker(ctx.env);
      const id = released.revision.id;
      if (g.json) {
        ctx.out.json({
          revision: revisionsJson([{ revision: released.revision, selfRelease: null }], id)[0],
          previous: released.previous,
          preMigrateCopy: released.preMigrateCopy,
          ...restart,
        });
      } else {
        ctx.out.print(
          `Released ${id} (candidate) from ${released.revision.source}; current pointed at it` +
            `${released.previous ? ` (was ${released.previous})` : ''}.\n` +
            'It becomes good after it has run healthy and reported itself ready for SUPERVISOR_PROMOTE_AFTER_SECONDS; a crash loop, or no readiness within SUPERVISOR_READY_SECONDS, rolls it back.' +
            (released.preMigrateCopy === null
              ? ''
              : `\nIt brings new migrations: the database as it was before them is in ${released.preMigrateCopy} (a rollback keeps the newer schema).`),
        );
      }
      reportRestart(ctx, restart, `${id} is released (a candidate) and current points at it`, id, g.json);
    });

  program
    .command('rollback')
    .description(
      'point current at an earlier revision (default: the newest good one), mark the one left bad if it is still a candidate, restart',
    )
    .option('--to <revision>', 'the revision to run (its id, or just rN)')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: { to?: string }, command: Command) => {
      const g = globalOptions(command);
      const file = resolveDbPath(g.db, ctx.env);
      const result = withDatabase(file, (handle) => {
        const store = new SupervisorStore(handle);
        const rc = revisionContext(file, ctx.env, store);
        const from = readCurrent(rc.releasesDir)?.revision ?? null;
        const revisions = store.revisions();
        let to: string;
        if (opts.to !== undefined) {
          const target = findRevision(revisions, opts.to);
          if (target.status === 'bad') {
            throw new CliError(
              `${target.id} is bad (${target.reason ?? 'no reason recorded'}): pick another with --to.`,
            );
          }
          to = target.id;
        } else {
          const target = rollbackTargetFor(rc, from);
          if (target === null) {
            throw new CliError(
              'There is no good revision to roll back to: `autonous release` a fix, or name one with --to.',
            );
          }
          to = target;
        }
        if (to === from) throw new CliError(`${to} is what runs already: nothing to roll back.`);
        // Only a candidate is judged by leaving it: a good revision has run well, and a bad one
        // keeps the reason it was marked for.
        const left = from === null ? null : store.revision(from);
        const markBad = left?.status === 'candidate';
        const byHand = 'rolled back by hand (autonous rollback)';
        const reason =
          from === null || markBad
            ? byHand
            : `${byHand}; ${from} ${left === null ? 'is not a recorded revision' : `stays ${left.status}`}`;
        try {
          rollbackRevision(rc, { from, to, reason, markBad }, ctx.now());
        } catch (err) {
          throw new CliError(err instanceof Error ? err.message : String(err));
        }
        return { from, to, fromStatus: markBad ? 'bad' : (left?.status ?? null) };
      });
      const restart = await restartWorker(ctx.env);
      if (g.json) ctx.out.json({ ...result, ...restart });
      else {
        const left =
          result.from === null
            ? ''
            : result.fromStatus === 'bad'
              ? ` (${result.from} is marked bad)`
              : result.fromStatus === null
                ? ''
                : ` (${result.from} stays ${result.fromStatus})`;
        ctx.out.print(`Rolled back from ${result.from ?? 'unrecorded code'} to ${result.to}${left}.`);
      }
      reportRestart(
        ctx,
        restart,
        `The rollback to ${result.to} is recorded and current points at it`,
        result.to,
        g.json,
      );
    });

  const revisions = program
    .command('revisions')
    .description('the revisions of the worker the supervisor keeps')
    .addHelpText('after', EXAMPLES);
  revisions
    .command('ls')
    .description('list revisions, newest first; * marks the one current points at')
    .action((_opts: unknown, command: Command) => {
      const g = globalOptions(command);
      const file = resolveDbPath(g.db, ctx.env);
      const { views, current } = withDatabase(file, (handle) => {
        const store = new SupervisorStore(handle);
        const rc = revisionContext(file, ctx.env, store);
        return {
          views: revisionViews(store, store.revisions()),
          current: readCurrent(rc.releasesDir)?.revision ?? null,
        };
      });
      if (g.json) ctx.out.json(revisionsJson(views, current));
      else ctx.out.print(renderRevisions(views, current, ctx.now(), paint(ctx.out.colour)));
    });

  revisions
    .command('show')
    .argument('<revision>', 'its id, or just rN')
    .description('one revision: where it came from, what its checks said, and its events')
    .action((wanted: string, _opts: unknown, command: Command) => {
      const g = globalOptions(command);
      const file = resolveDbPath(g.db, ctx.env);
      const detail = withDatabase(file, (handle) => {
        const store = new SupervisorStore(handle);
        const rc = revisionContext(file, ctx.env, store);
        const revision = findRevision(store.revisions(), wanted);
        const [view] = revisionViews(store, [revision]) as [RevisionView];
        const current = readCurrent(rc.releasesDir)?.revision ?? null;
        return { ...view, current: revision.id === current, events: store.eventsOf(revision.id) };
      });
      if (g.json) {
        const [json] = revisionsJson([detail], detail.current ? detail.revision.id : null);
        ctx.out.json({ ...json, selfRelease: detail.selfRelease, events: detail.events });
      } else ctx.out.print(renderRevisionDetail(detail, ctx.now(), paint(ctx.out.colour)));
    });

  registerSupervisor(program, ctx);
}
