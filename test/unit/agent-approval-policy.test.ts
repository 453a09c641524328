import {
  callHash,
  changesSinceLastApproval,
  needsApproval,
  resolveApproval,
  unaskedChanges,
  type ApprovalMode,
} from '../../src/agent/approval-policy';
import type { ApprovalRecord } from '../../src/agent/journal';
import { createTools } from '../../src/agent/tools';
import { decideSandbox } from '../../src/workspace/sandbox';

const unsandboxed = { sandboxed: false };
const sandboxed = { sandboxed: true };

const TOOLS = new Map(createTools({ sandbox: decideSandbox('off', null) }).map((t) => [t.name, t]));

/** The policy asked about a call of the named tool (undefined for a name no tool has). */
function needs(mode: ApprovalMode, name: string, args: unknown, facts: Parameters<typeof needsApproval>[3]) {
  return needsApproval(mode, TOOLS.get(name), args, facts);
}

describe('needsApproval', () => {
  it('asks nothing with never, even for an unsandboxed bash', () => {
    for (const tool of ['bash', 'write', 'edit', 'send_file', 'read'])
      expect(needs('never', tool, { command: 'x', network: true }, unsandboxed)).toBe(false);
  });

  it('on-risk asks before a bash without the sandbox or with the network, not a sandboxed one', () => {
    expect(needs('on-risk', 'bash', { command: 'ls' }, unsandboxed)).toBe(true);
    expect(needs('on-risk', 'bash', { command: 'ls' }, sandboxed)).toBe(false);
    expect(needs('on-risk', 'bash', { command: 'curl x', network: true }, sandboxed)).toBe(true);
    expect(needs('on-risk', 'bash', { command: 'ls', network: 'yes' }, sandboxed)).toBe(false);
  });

  it('on-risk does not ask for a sandboxed command only because it looks like a bulk delete', () => {
    expect(needs('on-risk', 'bash', { command: 'rm -rf build' }, sandboxed)).toBe(false);
  });

  it('on-risk lets file changes through unless one response changes more than 20 files', () => {
    expect(
      needs('on-risk', 'write', { path: 'a', content: '' }, { sandboxed: false, changesInStep: 20 }),
    ).toBe(false);
    expect(needs('on-risk', 'edit', { path: 'a' }, { sandboxed: true, changesInStep: 21 })).toBe(true);
    expect(needs('on-risk', 'send_file', { path: 'a' }, unsandboxed)).toBe(false);
    // the count is of a response's changes: it makes neither a command nor a send ask
    expect(needs('on-risk', 'send_file', { path: 'a' }, { sandboxed: true, changesInStep: 21 })).toBe(false);
    expect(needs('on-risk', 'bash', { command: 'ls' }, { sandboxed: true, changesInStep: 21 })).toBe(false);
  });

  it('always asks before every write, edit, bash and send_file, and reads never ask', () => {
    for (const tool of ['write', 'edit', 'bash', 'send_file'])
      expect(needs('always', tool, {}, sandboxed)).toBe(true);
    for (const mode of ['always', 'on-risk', 'never'] as ApprovalMode[])
      for (const tool of ['read', 'grep', 'find', 'ls'])
        expect(needs(mode, tool, {}, unsandboxed)).toBe(false);
  });

  it('asks for a name no tool has only with always', () => {
    expect(needs('always', 'nope', {}, sandboxed)).toBe(true);
    expect(needs('on-risk', 'nope', { command: 'x', network: true }, unsandboxed)).toBe(false);
    expect(needs('never', 'nope', {}, unsandboxed)).toBe(false);
  });
});

describe('callHash', () => {
  it('is the same for the same call whatever the key order, at every level', () => {
    expect(callHash('bash', { command: 'ls', opts: { a: 1, b: [1, { y: 2, x: 1 }] } })).toBe(
      callHash('bash', { opts: { b: [1, { x: 1, y: 2 }], a: 1 }, command: 'ls' }),
    );
  });

  it('differs for another tool, another argument value, or another argument', () => {
    const base = callHash('bash', { command: 'ls' });
    expect(callHash('bash', { command: 'ls -a' })).not.toBe(base);
    expect(callHash('write', { command: 'ls' })).not.toBe(base);
    expect(callHash('bash', { command: 'ls', network: true })).not.toBe(base);
    expect(callHash('bash', { command: 'ls', timeout_seconds: 5 })).not.toBe(base);
  });
});

describe('resolveApproval', () => {
  const now = 1_000_000;
  const record = (over: Partial<ApprovalRecord>): ApprovalRecord => ({
    id: 1,
    runId: 1,
    stepId: 10,
    toolCallId: 'c1',
    tool: 'bash',
    callHash: 'h1',
    status: 'pending',
    scope: null,
    chatId: 42,
    cardMessageId: 5,
    askedAt: now - 1000,
    expiresAt: now + 1000,
    decidedAt: null,
    decidedBy: null,
    ...over,
  });

  it('asks when nothing was asked for the call', () => {
    expect(resolveApproval([], 10, 'h1', now, [])).toEqual({ kind: 'ask' });
  });

  it('waits on its own pending approval, and denies it once expired', () => {
    expect(resolveApproval([record({})], 10, 'h1', now, []).kind).toBe('wait');
    expect(resolveApproval([record({})], 10, 'h1', now + 1000, [])).toMatchObject({
      kind: 'deny',
      expired: true,
    });
    expect(resolveApproval([record({ status: 'expired' })], 10, 'h1', now, [])).toMatchObject({
      kind: 'deny',
      expired: true,
    });
  });

  it('follows its own decision', () => {
    expect(resolveApproval([record({ status: 'allowed', scope: 'once' })], 10, 'h1', now, []).kind).toBe(
      'allow',
    );
    expect(resolveApproval([record({ status: 'denied' })], 10, 'h1', now, [])).toMatchObject({
      kind: 'deny',
      expired: false,
    });
  });

  it('lets an allow-for-run cover an identical call of another step, but not an allow-once', () => {
    expect(resolveApproval([record({ status: 'allowed', scope: 'run' })], 11, 'h1', now, []).kind).toBe(
      'allow',
    );
    expect(resolveApproval([record({ status: 'allowed', scope: 'once' })], 11, 'h1', now, []).kind).toBe(
      'ask',
    );
  });

  it('never lets a decision stand for a different call', () => {
    expect(resolveApproval([record({ status: 'allowed', scope: 'run' })], 11, 'h2', now, []).kind).toBe(
      'ask',
    );
    expect(resolveApproval([record({ status: 'allowed', scope: 'once' })], 10, 'h2', now, []).kind).toBe(
      'ask',
    );
  });

  describe('an allow-for-run and the files the run changed since', () => {
    // the allow-for-run of `make test` was asked at step 10; the identical call comes at step 14
    const forRun = record({ status: 'allowed', scope: 'run' });

    it('lapses once a change ran unasked after it: the same command may now run something else', () => {
      expect(resolveApproval([forRun], 14, 'h1', now, [12])).toEqual({ kind: 'ask' });
      // a change right after the approved call, and one right before the new call, are both after it
      expect(resolveApproval([forRun], 14, 'h1', now, [11]).kind).toBe('ask');
      expect(resolveApproval([forRun], 14, 'h1', now, [13]).kind).toBe('ask');
    });

    it('holds when the change came before the approval, or after the call', () => {
      expect(resolveApproval([forRun], 14, 'h1', now, [8])).toEqual({ kind: 'allow', approval: forRun });
      expect(resolveApproval([forRun], 14, 'h1', now, [15, 20]).kind).toBe('allow');
    });

    it('holds when the change was itself approved (its diff was on a card)', () => {
      const change = record({ id: 2, stepId: 12, callHash: 'w', status: 'allowed', scope: 'once' });
      expect(resolveApproval([forRun, change], 14, 'h1', now, [12]).kind).toBe('allow');
      // the approved call may itself be a change (a write allowed for the run under `always`)
      expect(resolveApproval([forRun], 14, 'h1', now, [10]).kind).toBe('allow');
    });

    it('lapses when the change was asked but not allowed', () => {
      for (const status of ['pending', 'denied', 'expired'] as const) {
        const change = record({ id: 2, stepId: 12, callHash: 'w', status });
        expect(resolveApproval([forRun, change], 14, 'h1', now, [12]).kind).toBe('ask');
      }
    });

    it('lets a newer allow-for-run, decided after the change, cover the call', () => {
      const renewed = record({ id: 3, stepId: 14, status: 'allowed', scope: 'run' });
      expect(resolveApproval([forRun, renewed], 16, 'h1', now, [12])).toEqual({
        kind: 'allow',
        approval: renewed,
      });
      expect(resolveApproval([forRun, renewed], 16, 'h1', now, [12, 15]).kind).toBe('ask');
    });

    it('never overrides the call’s own decision', () => {
      const own = record({ id: 3, stepId: 14, status: 'allowed', scope: 'once' });
      expect(resolveApproval([forRun, own], 14, 'h1', now, [12])).toEqual({ kind: 'allow', approval: own });
      const denied = record({ id: 3, stepId: 14, status: 'denied' });
      expect(resolveApproval([forRun, denied], 14, 'h1', now, [8]).kind).toBe('deny');
    });
  });
});

describe('unaskedChanges', () => {
  it('keeps the changes without an allowed approval of their own', () => {
    const at = (stepId: number, status: ApprovalRecord['status']): ApprovalRecord => ({
      id: stepId,
      runId: 1,
      stepId,
      toolCallId: `c${stepId}`,
      tool: 'write',
      callHash: 'w',
      status,
      scope: status === 'allowed' ? 'once' : null,
      chatId: 42,
      cardMessageId: 5,
      askedAt: 0,
      expiresAt: 1,
      decidedAt: null,
      decidedBy: null,
    });
    expect(unaskedChanges([], [3, 5])).toEqual([3, 5]);
    expect(unaskedChanges([at(3, 'allowed'), at(5, 'denied')], [3, 5, 7])).toEqual([5, 7]);
    expect(unaskedChanges([at(3, 'pending')], [3])).toEqual([3]);
  });
});

describe('changesSinceLastApproval', () => {
  const at = (stepId: number): ApprovalRecord => ({
    id: stepId,
    runId: 1,
    stepId,
    toolCallId: `c${stepId}`,
    tool: 'bash',
    callHash: 'h',
    status: 'allowed',
    scope: 'run',
    chatId: 42,
    cardMessageId: 5,
    askedAt: 0,
    expiresAt: 1,
    decidedAt: null,
    decidedBy: null,
  });

  it('lists every change before the call when the run asked nothing yet', () => {
    expect(changesSinceLastApproval([], [4, 2], 9)).toEqual({ since: 'run-start', steps: [2, 4] });
    expect(changesSinceLastApproval([], [], 9)).toEqual({ since: 'run-start', steps: [] });
  });

  it('lists the changes after the last earlier approval and before the call', () => {
    expect(changesSinceLastApproval([at(3), at(10)], [2, 5, 12, 13, 20], 14)).toEqual({
      since: 'last-approval',
      steps: [12, 13],
    });
  });

  it('leaves out a change that was itself the last approval, and ignores the call’s own approval', () => {
    expect(changesSinceLastApproval([at(3), at(12)], [12, 13], 14)).toEqual({
      since: 'last-approval',
      steps: [13],
    });
    // the call's own pending approval (its card sent again) is not an earlier one
    expect(changesSinceLastApproval([at(3), at(14)], [12], 14)).toEqual({
      since: 'last-approval',
      steps: [12],
    });
    expect(changesSinceLastApproval([at(14)], [12], 14)).toEqual({ since: 'run-start', steps: [12] });
  });
});
