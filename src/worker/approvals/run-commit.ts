// Every run undoable (issue 11 item 5), as the agent-run handler uses it: a git checkpoint taken
// before the run's first change and kept in kv until the run ends, then the run's changes as one
// commit. Kept by inbox item, so a run resumed after a kill commits against the state before it
// began, never against a state it had already changed.

import type Database from 'better-sqlite3';
import { deleteKv, getKv, KV, setKv } from '../../queue/kv';
import { beginRun, commitRun, runCommitMessage, type Checkpoint, type RunCommit } from '../../workspace/git';
import type { GitOptions } from '../../workspace/git-runner';

/**
 * The checkpoint of item `inboxId`'s run: the stored one, else a new one (beginRun), stored
 * before it is returned. Call it before the run can change anything, on every attempt.
 */
export async function checkpointRun(
  sqlite: Database.Database,
  inboxId: number,
  root: string,
  git: GitOptions,
  now: number,
): Promise<Checkpoint> {
  const stored = getKv(sqlite, KV.runCheckpoint(inboxId));
  if (stored !== undefined) return JSON.parse(stored) as Checkpoint;
  const checkpoint = await beginRun(root, git);
  setKv(sqlite, KV.runCheckpoint(inboxId), JSON.stringify(checkpoint), now);
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
  const stored = getKv(sqlite, KV.runCheckpoint(inboxId));
  if (stored === undefined) return null;
  const commit = await commitRun(root, JSON.parse(stored) as Checkpoint, runCommitMessage(request), git);
  deleteKv(sqlite, KV.runCheckpoint(inboxId));
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
