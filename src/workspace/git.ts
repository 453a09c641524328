// Every run undoable: a checkpoint before the run, one commit of what the run
// changed after it, a revert commit for /undo, the last run's diff for /diff.
//
// The person's uncommitted work: neither stashed nor refused. A stash would hide the person's
// edits from the agent during the run (often the very thing asked about: "fix my change"), would
// be left stashed by a kill -9 of the worker, and its pop can conflict with what the run did.
// Refusing a dirty tree makes the agent unusable on a project the person is working on. Instead
// the checkpoint records the whole working tree as a git tree object (nothing on disk changes),
// and the run's commit is built in a temporary index from HEAD plus, for each path the run
// changed, what the run made of it: the run's version where the person had not touched the file,
// else a three-way merge (HEAD + the run's change to the person's version) so that the person's
// edit stays uncommitted in the working tree. Where the two cannot be separated (overlapping
// lines, a file the person created, a binary file) the file is committed as the run left it and
// named in `includedPersonEdits`. The person's index and working tree are never rewritten, apart
// from the index entries of the committed paths. /undo works the same way in reverse and
// refuses, changing nothing, when the revert would overlap uncommitted edits.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { gitText, type GitOptions, runGit } from './git-runner';
import { replaceInside, type TreeContent } from './safe-fs';

/** The trailer that marks a run's commit, and the one that marks its revert. */
export const RUN_TRAILER = 'Autonous-Run';
export const REVERT_TRAILER = 'Autonous-Revert';

/** The state of a project before a run: HEAD and the whole working tree, as git objects. */
export interface Checkpoint {
  /** HEAD's commit, or null on a branch without commits yet. */
  readonly head: string | null;
  readonly headTree: string;
  /** The working tree (tracked and untracked files, ignored ones left out). */
  readonly tree: string;
}

/** A run's commit. */
export interface RunCommit {
  readonly commit: string;
  /** Paths the commit changes. */
  readonly files: readonly string[];
  /** Paths whose commit also holds the person's uncommitted edit (it could not be separated). */
  readonly includedPersonEdits: readonly string[];
}

/** What /undo did. */
export type UndoOutcome =
  | {
      readonly kind: 'reverted';
      readonly commit: string;
      readonly reverted: string;
      readonly subject: string;
      readonly files: readonly string[];
    }
  | { readonly kind: 'nothing'; readonly message: string }
  | { readonly kind: 'refused'; readonly message: string };

/** The last run's commit as /diff shows it. */
export interface RunDiff {
  readonly commit: string;
  readonly subject: string;
  /** Undone by /undo since. */
  readonly reverted: boolean;
  readonly stat: string;
  readonly diff: string;
}

/** A tree entry: mode and object id. */
interface Entry {
  readonly mode: string;
  readonly oid: string;
}

const NULL_OID_SHA1 = '0000000000000000000000000000000000000000';

function sameEntry(a: Entry | undefined, b: Entry | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.mode === b.mode && a.oid === b.oid);
}

/** Creates `root` and a git repository in it when it has none (`main`, identity autonous). */
export async function ensureRepo(root: string, options: GitOptions = {}): Promise<void> {
  await fs.mkdir(root, { recursive: true });
  const exists = await fs
    .stat(path.join(root, '.git'))
    .then(() => true)
    .catch(() => false);
  if (exists) return;
  // Outside bwrap: it mounts .git/config read-only, and a repository git is creating has no
  // config of its own yet that could make git run anything.
  const unsandboxed: GitOptions = { ...options, sandbox: undefined };
  await gitText(root, ['init', '-q', '--initial-branch=main'], {}, unsandboxed);
  // For the agent's own `git commit` in bash: its HOME is the project, so no global identity.
  await gitText(root, ['config', 'user.name', 'autonous'], {}, unsandboxed);
  await gitText(root, ['config', 'user.email', 'autonous@localhost'], {}, unsandboxed);
}

/** The git dir: always `<root>/.git`, since runGit names it itself (a `.git` file is refused). */
function gitDir(root: string): string {
  return path.join(path.resolve(root), '.git');
}

async function headCommit(root: string, options: GitOptions): Promise<string | null> {
  const out = await runGit(root, ['rev-parse', '--verify', '-q', 'HEAD^{commit}'], { okCodes: [1] }, options);
  return out.code === 0 ? out.stdout.toString().trim() : null;
}

async function emptyTree(root: string, options: GitOptions): Promise<string> {
  return gitText(root, ['mktree'], { input: '' }, options);
}

async function treeOf(root: string, commit: string | null, options: GitOptions): Promise<string> {
  return commit === null
    ? emptyTree(root, options)
    : gitText(root, ['rev-parse', `${commit}^{tree}`], {}, options);
}

/** Runs `body` with a temporary index file in the git dir (removed after). */
async function withTempIndex<T>(
  root: string,
  seed: 'real' | 'empty',
  body: (index: string) => Promise<T>,
): Promise<T> {
  const dir = gitDir(root);
  const index = path.join(dir, `autonous-index-${randomBytes(4).toString('hex')}`);
  if (seed === 'real') {
    // Seeding with the real index lets `git add -A` skip files whose stat did not change. The copy
    // keeps the index's own mtime: git re-reads an entry whose file is not older than its index
    // ("racily clean"), and a fresh mtime would hide a same-size edit made in the same clock tick
    // as the last commit, leaving it out of the run's commit.
    const real = path.join(dir, 'index');
    const stat = await fs.stat(real).catch(() => null);
    if (stat !== null) {
      await fs.copyFile(real, index);
      await fs.utimes(index, stat.atime, stat.mtime);
    }
  }
  try {
    return await body(index);
  } finally {
    await fs.rm(index, { force: true });
  }
}

/**
 * Removes the nested repositories (gitlinks) from a temporary index. For each one an index holds,
 * `git add` runs `git status` inside it to see whether it changed, and that git obeys the nested
 * repository's own config (its filters, its fsmonitor), which the worker does not inspect; absent
 * from the index, `add` records each one afresh from its HEAD, reading only its refs.
 */
async function dropGitlinks(root: string, indexFile: string, options: GitOptions): Promise<void> {
  const out = await runGit(root, ['ls-files', '--stage', '-z'], { indexFile }, options);
  const links = out.stdout
    .toString('utf8')
    .split('\0')
    .filter((record) => record.startsWith('160000 '))
    .map((record) => `0 ${NULL_OID_SHA1}\t${record.slice(record.indexOf('\t') + 1)}\0`);
  if (links.length > 0)
    await runGit(root, ['update-index', '-z', '--index-info'], { indexFile, input: links.join('') }, options);
}

/** The working tree as a tree object (respecting .gitignore), without touching the person's index. */
async function worktreeTree(root: string, options: GitOptions): Promise<string> {
  return withTempIndex(root, 'real', async (indexFile) => {
    await dropGitlinks(root, indexFile, options);
    await runGit(root, ['add', '-A', '--', '.'], { indexFile }, options);
    return gitText(root, ['write-tree'], { indexFile }, options);
  });
}

async function changedPaths(root: string, from: string, to: string, options: GitOptions): Promise<string[]> {
  const out = await runGit(
    root,
    ['diff-tree', '-r', '-z', '--no-renames', '--name-only', from, to],
    {},
    options,
  );
  return out.stdout
    .toString('utf8')
    .split('\0')
    .filter((p) => p !== '');
}

async function entries(root: string, tree: string, options: GitOptions): Promise<Map<string, Entry>> {
  const out = await runGit(root, ['ls-tree', '-r', '-z', '--full-tree', tree], {}, options);
  const map = new Map<string, Entry>();
  for (const record of out.stdout.toString('utf8').split('\0')) {
    if (record === '') continue;
    const tab = record.indexOf('\t');
    const [mode, , oid] = record.slice(0, tab).split(' ');
    map.set(record.slice(tab + 1), { mode: mode as string, oid: oid as string });
  }
  return map;
}

/**
 * The three-way merge of one file: `current` with the change from `base` to `other` applied.
 * undefined entries are absent files; null means the two changes cannot be combined.
 */
async function merge3(
  root: string,
  current: Entry | undefined,
  base: Entry | undefined,
  other: Entry | undefined,
  options: GitOptions,
): Promise<Entry | undefined | null> {
  if (sameEntry(current, base)) return other;
  if (sameEntry(current, other) || sameEntry(base, other)) return current;
  if (!current || !base || !other || ![current, base, other].every((e) => e.mode.startsWith('100')))
    return null;
  const blobs = await Promise.all(
    [current, base, other].map((e) => runGit(root, ['cat-file', 'blob', e.oid], {}, options)),
  );
  if (blobs.some((b) => b.stdout.includes(0))) return null; // binary
  // In the git dir, not /tmp: git runs in the sandbox like every git, and the sandbox's /tmp is its own
  const dir = await fs.mkdtemp(path.join(gitDir(root), 'autonous-merge-'));
  try {
    const files = ['current', 'base', 'other'].map((name) => path.join(dir, name));
    await Promise.all(files.map((file, i) => fs.writeFile(file, (blobs[i] as { stdout: Buffer }).stdout)));
    const merged = await runGit(
      root,
      ['merge-file', '-p', ...files],
      { okCodes: Array.from({ length: 127 }, (_, i) => i + 1) },
      options,
    );
    if (merged.code !== 0) return null;
    const oid = await gitText(
      root,
      ['hash-object', '-w', '--no-filters', '--stdin'],
      { input: merged.stdout },
      options,
    );
    return { mode: current.mode, oid };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Writes a tree: `baseTree` with `changes` (undefined: the path removed). */
async function treeWith(
  root: string,
  baseTree: string,
  changes: Map<string, Entry | undefined>,
  options: GitOptions,
): Promise<string> {
  return withTempIndex(root, 'empty', async (indexFile) => {
    await runGit(root, ['read-tree', baseTree], { indexFile }, options);
    const info = [...changes]
      .map(([p, e]) => (e ? `${e.mode} ${e.oid}\t${p}` : `0 ${NULL_OID_SHA1}\t${p}`))
      .join('\0');
    if (info !== '')
      await runGit(root, ['update-index', '-z', '--index-info'], { indexFile, input: `${info}\0` }, options);
    return gitText(root, ['write-tree'], { indexFile }, options);
  });
}

async function commitTree(
  root: string,
  tree: string,
  parent: string | null,
  message: string,
  options: GitOptions,
): Promise<string> {
  const args = ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-F', '-'];
  const commit = await gitText(root, args, { input: message }, options);
  await gitText(
    root,
    ['update-ref', '-m', message.split('\n')[0] as string, 'HEAD', commit, parent ?? ''],
    {},
    options,
  );
  return commit;
}

/** Points the person's index entries of `paths` at HEAD (the rest of their index is kept). */
async function resetIndexPaths(root: string, paths: readonly string[], options: GitOptions): Promise<void> {
  if (paths.length === 0) return;
  await runGit(
    root,
    ['reset', '-q', 'HEAD', '--pathspec-from-file=-', '--pathspec-file-nul'],
    { input: `${paths.join('\0')}\0` },
    options,
  );
}

/** Records the project's state before a run's first change; store it with the run (it is a few ids). */
export async function beginRun(root: string, options: GitOptions = {}): Promise<Checkpoint> {
  await ensureRepo(root, options);
  const head = await headCommit(root, options);
  return { head, headTree: await treeOf(root, head, options), tree: await worktreeTree(root, options) };
}

/** The commit message of a run: "autonous: <first line of the request>" and the run trailer. */
export function runCommitMessage(request: string): string {
  const firstLine = request.trim().split('\n')[0]?.trim() ?? '';
  const subject = firstLine.length > 72 ? `${firstLine.slice(0, 71)}…` : firstLine;
  return `autonous: ${subject || 'run'}\n\n${RUN_TRAILER}: true\n`;
}

/**
 * Commits what the run changed since `checkpoint` as one commit on the current branch (author
 * autonous), keeping the person's uncommitted edits out where they can be separated; null when
 * the run changed nothing. `message` is usually runCommitMessage(request).
 */
export async function commitRun(
  root: string,
  checkpoint: Checkpoint,
  message: string,
  options: GitOptions = {},
): Promise<RunCommit | null> {
  const finalTree = await worktreeTree(root, options);
  const paths = await changedPaths(root, checkpoint.tree, finalTree, options);
  if (paths.length === 0) return null;
  const head = await headCommit(root, options);
  const headTree = await treeOf(root, head, options);
  const [atStart, startHead, atEnd, headNow] = await Promise.all([
    entries(root, checkpoint.tree, options),
    entries(root, checkpoint.headTree, options),
    entries(root, finalTree, options),
    entries(root, headTree, options),
  ]);
  const changes = new Map<string, Entry | undefined>();
  const includedPersonEdits: string[] = [];
  for (const p of paths) {
    const personTouched = !sameEntry(atStart.get(p), startHead.get(p));
    if (!personTouched) {
      changes.set(p, atEnd.get(p));
      continue;
    }
    // HEAD + (the run's version − the person's version)
    const merged = await merge3(root, headNow.get(p), atStart.get(p), atEnd.get(p), options);
    if (merged === null) {
      changes.set(p, atEnd.get(p));
      includedPersonEdits.push(p);
    } else changes.set(p, merged);
  }
  const tree = await treeWith(root, headTree, changes, options);
  if (tree === headTree) return null;
  const fullMessage = message.includes(`${RUN_TRAILER}:`)
    ? message
    : `${message.trimEnd()}\n\n${RUN_TRAILER}: true\n`;
  const commit = await commitTree(root, tree, head, fullMessage, options);
  const files = await changedPaths(root, headTree, tree, options);
  await resetIndexPaths(root, files, options);
  return { commit, files, includedPersonEdits };
}

interface LoggedCommit {
  readonly commit: string;
  readonly parent: string | null;
  readonly subject: string;
  readonly body: string;
}

/** How far back /undo and /diff look for a run's commit. */
const HISTORY_DEPTH = 500;

async function history(root: string, options: GitOptions): Promise<LoggedCommit[]> {
  if ((await headCommit(root, options)) === null) return [];
  const out = await gitText(
    root,
    ['log', '--first-parent', `-n${HISTORY_DEPTH}`, '-z', '--format=%H%x1f%P%x1f%s%x1f%B'],
    {},
    options,
  );
  return out
    .split('\0')
    .filter((r) => r !== '')
    .map((record) => {
      const [commit, parents, subject, body] = record.split('\x1f') as [string, string, string, string];
      return { commit: commit.trim(), parent: parents.split(' ')[0] || null, subject, body };
    });
}

function trailerValue(body: string, trailer: string): string | null {
  const match = new RegExp(`^${trailer}: *(\\S+) *$`, 'm').exec(body);
  return match ? (match[1] as string) : null;
}

/** Run commits newest first, each with whether a later revert undid it. */
async function runCommits(
  root: string,
  options: GitOptions,
): Promise<(LoggedCommit & { reverted: boolean })[]> {
  const reverted = new Set<string>();
  const runs: (LoggedCommit & { reverted: boolean })[] = [];
  for (const entry of await history(root, options)) {
    const undone = trailerValue(entry.body, REVERT_TRAILER);
    if (undone) reverted.add(undone);
    else if (trailerValue(entry.body, RUN_TRAILER))
      runs.push({ ...entry, reverted: reverted.has(entry.commit) });
  }
  return runs;
}

async function writeWorktreeFile(
  root: string,
  file: string,
  entry: Entry | undefined,
  options: GitOptions,
): Promise<void> {
  let content: TreeContent = null;
  if (entry !== undefined) {
    const blob = (await runGit(root, ['cat-file', 'blob', entry.oid], {}, options)).stdout;
    content =
      entry.mode === '120000'
        ? { kind: 'link', target: blob.toString('utf8') }
        : { kind: 'file', bytes: blob, mode: entry.mode === '100755' ? 0o755 : 0o644 };
  }
  // from the root down without following a link, as git checks out: a folder of the path swapped
  // for a link (by a command of another chat) cannot send the write or the delete out of the project
  const replaced = await replaceInside(root, file, content);
  if (!replaced.ok) throw new Error(replaced.error);
}

/**
 * /undo: reverts the last run commit not undone yet, as a new commit (nothing is lost), in HEAD
 * and in the working tree, keeping the person's uncommitted edits; refuses without changing
 * anything when the revert would overlap them or later commits.
 */
export async function undoLast(root: string, options: GitOptions = {}): Promise<UndoOutcome> {
  const target = (await runCommits(root, options)).find((run) => !run.reverted);
  if (!target) {
    return {
      kind: 'nothing',
      message: 'Nothing to undo: no run of autonous changed this project, or every one was undone already.',
    };
  }
  const head = (await headCommit(root, options)) as string;
  const [parentTree, runTree, headTree, workTree] = await Promise.all([
    treeOf(root, target.parent, options),
    treeOf(root, target.commit, options),
    treeOf(root, head, options),
    worktreeTree(root, options),
  ]);
  const paths = await changedPaths(root, parentTree, runTree, options);
  const [before, after, headNow, work] = await Promise.all([
    entries(root, parentTree, options),
    entries(root, runTree, options),
    entries(root, headTree, options),
    entries(root, workTree, options),
  ]);
  const headChanges = new Map<string, Entry | undefined>();
  const workChanges = new Map<string, Entry | undefined>();
  const blocked: string[] = [];
  for (const p of paths) {
    const inHead = await merge3(root, headNow.get(p), after.get(p), before.get(p), options);
    const inWork = await merge3(root, work.get(p), after.get(p), before.get(p), options);
    if (inHead === null || inWork === null) blocked.push(p);
    else {
      headChanges.set(p, inHead);
      if (!sameEntry(inWork, work.get(p))) workChanges.set(p, inWork);
    }
  }
  if (blocked.length > 0) {
    return {
      kind: 'refused',
      message: `Cannot undo "${target.subject}": ${blocked.join(', ')} changed since that run in lines the run also changed. Commit or discard those changes, then /undo again.`,
    };
  }
  const tree = await treeWith(root, headTree, headChanges, options);
  const message = `Undo "${target.subject}"\n\nThis reverts commit ${target.commit}.\n\n${REVERT_TRAILER}: ${target.commit}\n`;
  const commit = await commitTree(root, tree, head, message, options);
  for (const [p, entry] of workChanges) await writeWorktreeFile(root, p, entry, options);
  await resetIndexPaths(root, paths, options);
  return { kind: 'reverted', commit, reverted: target.commit, subject: target.subject, files: paths };
}

/** /diff: the diffstat and the whole diff of the last run's commit (undone or not); null when there is none. */
export async function lastRunDiff(root: string, options: GitOptions = {}): Promise<RunDiff | null> {
  const last = (await runCommits(root, options))[0];
  if (!last) return null;
  const from = await treeOf(root, last.parent, options);
  const base = ['diff', '--no-ext-diff', '--no-textconv', '--no-color', from, last.commit];
  const [stat, diff] = await Promise.all([
    gitText(root, [...base.slice(0, 4), '--stat', ...base.slice(4)], {}, options),
    runGit(root, base, {}, options).then((o) => o.stdout.toString('utf8')),
  ]);
  return { commit: last.commit, subject: last.subject, reverted: last.reverted, stat, diff };
}
