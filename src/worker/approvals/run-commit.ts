// Every run undoable, as the agent-run handler uses it: a git checkpoint taken before the run's
// first change and kept with the run until it ends, then the run's changes as one commit. Kept in
// the run's row, so a run resumed after a kill commits against the state before it began, never
// against a state it had already changed, and the checkpoint goes when the run goes.

import type Database from 'better-sqlite3';
import { isWorkerStopping } from '../../agent/abort-reasons';
import { forgetRunCheckpoint } from '../../queue/agent/forget-checkpoint';
import { keepRunCheckpoint } from '../../queue/agent/keep-checkpoint';
import { runCheckpoint } from '../../queue/agent/run-checkpoint';
import type { Logger } from '../../shared/log';
import { beginRun, commitRun, runCommitMessage, type Checkpoint, type RunCommit } from '../../workspace/git';
import { GitError, type GitOptions } from '../../workspace/git-runner';

/**
 * The checkpoint of item `inboxId`'s run: the stored one, else a new one (beginRun), stored
 * before it is returned. Call it before the run can change anything, on every attempt; the run
 * must have begun (its row keeps the checkpoint).
 */
export async function checkpointRun(
  sqlite: Database.Database,
  inboxId: number,
  root: string,
  git: GitOptions,
): Promise<Checkpoint> {
  const stored = runCheckpoint(sqlite, inboxId);
  if (stored !== undefined) return JSON.parse(stored) as Checkpoint;
  const checkpoint = await beginRun(root, git);
  if (!keepRunCheckpoint(sqlite, inboxId, JSON.stringify(checkpoint))) {
    // without a stored checkpoint the run's changes could never be committed, so /undo could not
    // take them back: better no change at all
    throw new Error(
      `Item ${inboxId} has no agent run to keep its git checkpoint in; the run must begin first.`,
    );
  }
  return checkpoint;
}

/**
 * Commits what item `inboxId`'s run changed since its checkpoint ("autonous: <first line of the
 * request>", author autonous) and forgets the checkpoint; null when it changed nothing or has no
 * checkpoint. Safe to call again after a kill: a second call finds nothing left to commit.
 */
export async function commitRunChanges(
  sqlite: Database.Database,
  inboxId: number,
  root: string,
  request: string,
  git: GitOptions,
): Promise<RunCommit | null> {
  const stored = runCheckpoint(sqlite, inboxId);
  if (stored === undefined) return null;
  const commit = await commitRun(root, JSON.parse(stored) as Checkpoint, runCommitMessage(request), git);
  forgetRunCheckpoint(sqlite, inboxId);
  return commit;
}

/** The line to add to a run's answer about its commit, or null when it committed nothing. */
export function commitNote(commit: RunCommit | null): string | null {
  if (commit === null) return null;
  const files = `${commit.files.length} file${commit.files.length === 1 ? '' : 's'}`;
  const lines = [
    `Committed the run's changes (${files}) as ${commit.commit.slice(0, 8)}: /diff shows them, /undo reverts them.`,
  ];
  if (commit.includedPersonEdits.length > 0) {
    lines.push(
      `Your own uncommitted edits in ${commit.includedPersonEdits.join(', ')} could not be kept apart from the run's and are in that commit too.`,
    );
  }
  return lines.join('\n');
}

/** Why a commit did not happen, as a clause for the person: git's own words, its first line only. */
function skipReason(err: unknown): string {
  if (err instanceof GitError) {
    if (err.kind === 'aborted') return 'the commit was stopped';
    if (err.kind === 'failed') {
      const said = err.stderr.trim().split('\n')[0]?.trim();
      return `git ${err.args[0] ?? ''} failed${said ? `: ${said.slice(0, 200)}` : ''}`;
    }
  }
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'unknown error';
}

/** The line a run's answer gets when its changes could not be committed. */
export function commitSkippedNote(reason: string): string {
  return `The run's changes were not committed (${reason}): /undo cannot take them back.`;
}

/**
 * Commits item `inboxId`'s run (commitRunChanges) and returns the line for its answer, or null
 * when it changed nothing. A commit that fails, runs out of time or is stopped does not cost the
 * run its answer: the line says the commit was skipped and why, the log has it, and the
 * checkpoint goes (the changes stay in the working tree, uncommitted). Only a stopping worker's
 * abort is thrown on: the item is put back, and the resumed run, already finished, commits then.
 */
export async function commitRunNote(
  deps: { readonly sqlite: Database.Database; readonly log: Logger },
  inboxId: number,
  root: string,
  request: string,
  git: GitOptions,
): Promise<string | null> {
  try {
    return commitNote(await commitRunChanges(deps.sqlite, inboxId, root, request, git));
  } catch (err) {
    if (git.signal !== undefined && isWorkerStopping(git.signal)) throw err;
    const reason = skipReason(err);
    deps.log.warn("the run's changes were not committed", {
      id: inboxId,
      reason,
      kind: err instanceof GitError ? err.kind : 'error',
    });
    forgetRunCheckpoint(deps.sqlite, inboxId);
    return commitSkippedNote(reason);
  }
}
