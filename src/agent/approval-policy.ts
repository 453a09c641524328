// Pure approval decisions: which calls must be asked for, how a call is identified, and
// what a run's recorded approvals say about one call. No I/O; `now` is an argument.

import { createHash } from 'node:crypto';
import type { ApprovalRecord, ApprovalScope } from './journal';
import type { Tool } from './ports';
import type { Risk } from './tools/risk';

export const APPROVAL_MODES = ['on-risk', 'always', 'never'] as const;
export type ApprovalMode = (typeof APPROVAL_MODES)[number];

/** What the policy knows of the world besides the call. */
export interface ApprovalFacts {
  /** `bash` runs under bubblewrap (read-only filesystem, no network). */
  readonly sandboxed: boolean;
  /** How many calls of `change` tools (`write`, `edit`) the same model response holds. */
  readonly changesInStep?: number;
}

/** What the policy asks of a tool: the facts it declares about itself and its calls. */
export type ToolFacts = Pick<Tool, 'kind' | 'risks'>;

/**
 * The risks that make `on-risk` ask on their own. A command that looks like a bulk delete does
 * not: bwrap keeps it inside the project and /undo reverts the run; its card says so when
 * something else asks.
 */
const ASKING_RISKS: ReadonlySet<Risk> = new Set<Risk>(['unsandboxed', 'network']);

/** `on-risk` asks before a step that changes more files than this. */
export const MAX_UNASKED_WRITES_PER_STEP = 20;

/** The result the model gets for a denied call. */
export const DENIED_RESULT = 'denied by the person: nothing was run';
/** The result the model gets when nobody decided in time. */
export const EXPIRED_RESULT =
  'denied: nobody decided within the approval timeout (AGENT_APPROVAL_TIMEOUT_SECONDS); nothing was run';

/**
 * Whether a call must be approved before it runs; `tool` is undefined for a name no tool has.
 * `never` asks nothing; `on-risk` asks before a call whose tool names a risk that asks (a `bash`
 * without the sandbox or with `network: true`), and before a response's file changes beyond 20;
 * `always` asks before everything but the reads (unknown tools included). Reads never ask.
 */
export function needsApproval(
  mode: ApprovalMode,
  tool: ToolFacts | undefined,
  args: unknown,
  facts: ApprovalFacts,
): boolean {
  if (mode === 'never' || tool?.kind === 'read') return false;
  if (mode === 'always') return true;
  if (tool === undefined) return false;
  if (tool.risks(args, facts).some((risk) => ASKING_RISKS.has(risk))) return true;
  return tool.kind === 'change' && (facts.changesInStep ?? 0) > MAX_UNASKED_WRITES_PER_STEP;
}

/**
 * A stable hash of a call: the tool's name and its arguments with object keys sorted at every
 * level, so `{a,b}` and `{b,a}` are the same call and any other difference is a different one.
 */
export function callHash(name: string, args: unknown): string {
  return createHash('sha256')
    .update(name)
    .update('\0')
    .update(canonicalJson(args))
    .digest('hex')
    .slice(0, 32);
}

/** JSON with object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What a run's approvals say about one call. */
export type ApprovalVerdict =
  | { readonly kind: 'allow'; readonly approval: ApprovalRecord }
  | { readonly kind: 'deny'; readonly approval: ApprovalRecord; readonly expired: boolean }
  /** asked, not decided, not expired: the run stays parked */
  | { readonly kind: 'wait'; readonly approval: ApprovalRecord }
  /** nothing decides it: ask */
  | { readonly kind: 'ask' };

/**
 * Decides a call from the run's approvals. The call's own approval (bound to its step and hash)
 * decides it: allowed, denied, expired, or pending (a denial once past `expiresAt`). Without one,
 * an "allow for this run" of an identical call (same hash) allows it, unless the run changed a
 * file unasked after that approval: the person approved a command as it ran then, and a changed
 * Makefile or script makes the same text run something else. Anything else must be asked.
 * `changeSteps`: the ids of the run's steps of `change` tools that ran (see unaskedChanges).
 */
export function resolveApproval(
  approvals: readonly ApprovalRecord[],
  stepId: number,
  hash: string,
  now: number,
  changeSteps: readonly number[],
): ApprovalVerdict {
  const own = approvals.filter((a) => a.stepId === stepId && a.callHash === hash).at(-1);
  if (own !== undefined) {
    switch (own.status) {
      case 'allowed':
        return { kind: 'allow', approval: own };
      case 'denied':
        return { kind: 'deny', approval: own, expired: false };
      case 'expired':
        return { kind: 'deny', approval: own, expired: true };
      case 'pending':
        return own.expiresAt <= now
          ? { kind: 'deny', approval: own, expired: true }
          : { kind: 'wait', approval: own };
    }
  }
  const unasked = unaskedChanges(approvals, changeSteps);
  // steps run in the order of their ids, and a run is parked until its approval is decided: a
  // step id after the approval's step is a step run after the decision
  const forRun = approvals
    .filter((a) => a.status === 'allowed' && a.scope === 'run' && a.callHash === hash)
    .filter((a) => !unasked.some((id) => id > a.stepId && id < stepId))
    .at(-1);
  return forRun !== undefined ? { kind: 'allow', approval: forRun } : { kind: 'ask' };
}

/**
 * The run's file changes nobody approved: of `changeSteps` (the ids of steps of `change` tools
 * that ran), those without an allowed approval of their own. A change let through by an identical
 * call's "allow for this run", or by `on-risk` not asking, is unasked: nobody saw this diff.
 */
export function unaskedChanges(
  approvals: readonly ApprovalRecord[],
  changeSteps: readonly number[],
): number[] {
  return changeSteps.filter((id) => !approvals.some((a) => a.stepId === id && a.status === 'allowed'));
}

/** The file changes a card shows, and since when. */
export interface ChangesSince {
  /** Since the run's last approval before the call, or since the run began when it had none. */
  readonly since: 'last-approval' | 'run-start';
  /** Ids of the change steps, in order. */
  readonly steps: readonly number[];
}

/**
 * The changes the card of the call at `stepId` lists: the run's changes after its last approval
 * (whatever became of it: its card showed what came before), so each change is shown once.
 */
export function changesSinceLastApproval(
  approvals: readonly ApprovalRecord[],
  changeSteps: readonly number[],
  stepId: number,
): ChangesSince {
  const earlier = approvals.filter((a) => a.stepId < stepId).map((a) => a.stepId);
  const last = earlier.length > 0 ? Math.max(...earlier) : undefined;
  return {
    since: last === undefined ? 'run-start' : 'last-approval',
    steps: changeSteps.filter((id) => (last === undefined || id > last) && id < stepId).sort((a, b) => a - b),
  };
}

/** A person's decision on a card. */
export type ApprovalDecision = 'allow-once' | 'allow-run' | 'deny';

/** The stored status and scope of a decision. */
export function decisionFields(decision: ApprovalDecision): {
  status: 'allowed' | 'denied';
  scope: ApprovalScope | null;
} {
  switch (decision) {
    case 'allow-once':
      return { status: 'allowed', scope: 'once' };
    case 'allow-run':
      return { status: 'allowed', scope: 'run' };
    case 'deny':
      return { status: 'denied', scope: null };
  }
}
