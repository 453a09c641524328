// What the on-risk approval policy can know about a call before it runs. Pure.
//
// Detectable in advance: a `bash` without the sandbox (it can read and write anything the
// worker's user can, and reach the network), a `bash` asking for the network, and how many
// existing files the `write`/`edit` calls of one model response overwrite. Not detectable: how
// many files a command will delete or overwrite; `rm -rf build`, `make clean`, a script or
// `git checkout .` look alike to any static reading. `looksDestructive` flags the command lines
// that say so openly (recursive or wildcard rm, find -delete, git clean/reset --hard/checkout
// ./restore, rsync --delete); anything hidden in a script or a variable is missed. What bounds
// the damage anyway: bwrap keeps writes inside the project, and every run is one git commit
// that /undo reverts (files git ignores excepted).

/** What makes a call risky: the approval card shows each; `on-risk` asks before some (approval-policy.ts). */
export type Risk = 'unsandboxed' | 'network' | 'mass-change';

/** What a tool's `risks` needs to know about how commands run. */
export interface RiskContext {
  readonly sandboxed: boolean;
}

/** The "more than 20 files deleted or overwritten in one step" rule. */
export const MASS_CHANGE_FILES = 20;

const DESTRUCTIVE: readonly RegExp[] = [
  // rm with -r/-R/--recursive (alone or among other flags) or a wildcard operand
  /(^|[;&|(`\s])rm\s+(-[a-zA-Z]*[rR][a-zA-Z]*\b|--recursive\b|[^;&|\n]*[*?])/,
  /(^|[;&|(`\s])find\s[^;&|\n]*(-delete\b|-exec\s+rm\b)/,
  /(^|[;&|(`\s])git\s+(clean\b|reset\s+[^;&|\n]*--hard\b|checkout\s+(--\s+)?\.(\s|$)|restore\b)/,
  /(^|[;&|(`\s])rsync\s[^;&|\n]*--delete\b/,
];

/** Whether a command line openly deletes or overwrites files in bulk (see the file's comment for what this misses). */
export function looksDestructive(command: string): boolean {
  return DESTRUCTIVE.some((pattern) => pattern.test(command));
}

function field(args: unknown, name: string): unknown {
  return typeof args === 'object' && args !== null ? (args as Record<string, unknown>)[name] : undefined;
}

/**
 * The risks of a command call (`bash {command, network?}`), most serious first: without the
 * sandbox, asking for the network, a command line that openly deletes in bulk.
 */
export function commandRisks(args: unknown, context: RiskContext): readonly Risk[] {
  const risks: Risk[] = [];
  if (!context.sandboxed) risks.push('unsandboxed');
  if (field(args, 'network') === true) risks.push('network');
  const command = field(args, 'command');
  if (typeof command === 'string' && looksDestructive(command)) risks.push('mass-change');
  return risks;
}

/** The risks of a call that has none of its own: a read, one file change (in git), sending a project file. */
export function noRisks(): readonly Risk[] {
  return [];
}

/**
 * Whether the calls of one model response overwrite more than MASS_CHANGE_FILES existing files
 * through `write` and `edit` (distinct paths); `exists` says whether a path names a file now.
 */
export function overwritesTooMany(
  calls: readonly { readonly name: string; readonly args: unknown }[],
  exists: (path: string) => boolean,
): boolean {
  const paths = new Set<string>();
  for (const call of calls) {
    if (call.name !== 'write' && call.name !== 'edit') continue;
    const target = field(call.args, 'path');
    if (typeof target === 'string' && exists(target)) paths.add(target);
  }
  return paths.size > MASS_CHANGE_FILES;
}
