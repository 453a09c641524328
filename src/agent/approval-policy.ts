// Pure approval decisions (issue 11): which calls must be asked for, how a call is identified, and
// what a run's recorded approvals say about one call. No I/O; `now` is an argument.

import { createHash } from 'node:crypto';
import type { ApprovalRecord } from './journal';

export const APPROVAL_MODES = ['on-risk', 'always', 'never'] as const;
export type ApprovalMode = (typeof APPROVAL_MODES)[number];

/** What the policy knows of the world besides the call. */
export interface ApprovalFacts {
  /** `bash` runs under bubblewrap (read-only filesystem, no network). */
  readonly sandboxed: boolean;
  /** How many `write`/`edit` calls the same model response holds. */
  readonly writesInStep?: number;
}

/** The tools that only read: they never ask. */
export const READ_TOOLS: ReadonlySet<string> = new Set(['read', 'grep', 'find', 'ls']);
const FILE_CHANGES: ReadonlySet<string> = new Set(['write', 'edit']);

/** `on-risk` asks before a step that changes more files than this. */
export const MAX_UNASKED_WRITES_PER_STEP = 20;

/** The result the model gets for a denied call. */
export const DENIED_RESULT = 'denied by the person: nothing was run';
/** The result the model gets when nobody decided in time. */
export const EXPIRED_RESULT =
  'denied: nobody decided within the approval timeout (AGENT_APPROVAL_TIMEOUT_SECONDS); nothing was run';

/**
 * Whether a call must be approved before it runs. `never` asks nothing; `on-risk` asks before a
 * `bash` without the sandbox or with `network: true`, and before a response's file changes beyond
 * 20; `always` asks before everything but the reads (unknown tools included). Reads never ask.
 */
export function needsApproval(
  mode: ApprovalMode,
  toolName: string,
  args: unknown,
  facts: ApprovalFacts,
): boolean {
  if (mode === 'never' || READ_TOOLS.has(toolName)) return false;
  if (mode === 'always') return true;
  if (toolName === 'bash') return !facts.sandboxed || wantsNetwork(args);
  if (FILE_CHANGES.has(toolName)) return (facts.writesInStep ?? 0) > MAX_UNASKED_WRITES_PER_STEP;
  return false;
}

function wantsNetwork(args: unknown): boolean {
  return typeof args === 'object' && args !== null && (args as { network?: unknown }).network === true;
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
 * an "allow for this run" of an identical call (same hash) allows it. Anything else must be asked.
 */
export function resolveApproval(
  approvals: readonly ApprovalRecord[],
  stepId: number,
  hash: string,
  now: number,
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
  const forRun = approvals.find((a) => a.status === 'allowed' && a.scope === 'run' && a.callHash === hash);
  return forRun !== undefined ? { kind: 'allow', approval: forRun } : { kind: 'ask' };
}

/** A person's decision on a card. */
export type ApprovalDecision = 'allow-once' | 'allow-run' | 'deny';

/** The stored status and scope of a decision. */
export function decisionFields(decision: ApprovalDecision): {
  status: 'allowed' | 'denied';
  scope: 'once' | 'run' | null;
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
