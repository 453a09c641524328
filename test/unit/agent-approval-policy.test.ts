import { callHash, needsApproval, resolveApproval, type ApprovalMode } from '../../src/agent/approval-policy';
import type { ApprovalRecord } from '../../src/agent/journal';

const unsandboxed = { sandboxed: false };
const sandboxed = { sandboxed: true };

describe('needsApproval', () => {
  it('asks nothing with never, even for an unsandboxed bash', () => {
    for (const tool of ['bash', 'write', 'edit', 'send_file', 'read'])
      expect(needsApproval('never', tool, { command: 'x', network: true }, unsandboxed)).toBe(false);
  });

  it('on-risk asks before a bash without the sandbox or with the network, not a sandboxed one', () => {
    expect(needsApproval('on-risk', 'bash', { command: 'ls' }, unsandboxed)).toBe(true);
    expect(needsApproval('on-risk', 'bash', { command: 'ls' }, sandboxed)).toBe(false);
    expect(needsApproval('on-risk', 'bash', { command: 'curl x', network: true }, sandboxed)).toBe(true);
    expect(needsApproval('on-risk', 'bash', { command: 'ls', network: 'yes' }, sandboxed)).toBe(false);
  });

  it('on-risk lets file changes through unless one response changes more than 20 files', () => {
    expect(
      needsApproval('on-risk', 'write', { path: 'a', content: '' }, { sandboxed: false, writesInStep: 20 }),
    ).toBe(false);
    expect(needsApproval('on-risk', 'edit', { path: 'a' }, { sandboxed: true, writesInStep: 21 })).toBe(true);
    expect(needsApproval('on-risk', 'send_file', { path: 'a' }, unsandboxed)).toBe(false);
  });

  it('always asks before every write, edit, bash and send_file, and reads never ask', () => {
    for (const tool of ['write', 'edit', 'bash', 'send_file'])
      expect(needsApproval('always', tool, {}, sandboxed)).toBe(true);
    for (const mode of ['always', 'on-risk', 'never'] as ApprovalMode[])
      for (const tool of ['read', 'grep', 'find', 'ls'])
        expect(needsApproval(mode, tool, {}, unsandboxed)).toBe(false);
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
    expect(resolveApproval([], 10, 'h1', now)).toEqual({ kind: 'ask' });
  });

  it('waits on its own pending approval, and denies it once expired', () => {
    expect(resolveApproval([record({})], 10, 'h1', now).kind).toBe('wait');
    expect(resolveApproval([record({})], 10, 'h1', now + 1000)).toMatchObject({
      kind: 'deny',
      expired: true,
    });
    expect(resolveApproval([record({ status: 'expired' })], 10, 'h1', now)).toMatchObject({
      kind: 'deny',
      expired: true,
    });
  });

  it('follows its own decision', () => {
    expect(resolveApproval([record({ status: 'allowed', scope: 'once' })], 10, 'h1', now).kind).toBe('allow');
    expect(resolveApproval([record({ status: 'denied' })], 10, 'h1', now)).toMatchObject({
      kind: 'deny',
      expired: false,
    });
  });

  it('lets an allow-for-run cover an identical call of another step, but not an allow-once', () => {
    expect(resolveApproval([record({ status: 'allowed', scope: 'run' })], 11, 'h1', now).kind).toBe('allow');
    expect(resolveApproval([record({ status: 'allowed', scope: 'once' })], 11, 'h1', now).kind).toBe('ask');
  });

  it('never lets a decision stand for a different call', () => {
    expect(resolveApproval([record({ status: 'allowed', scope: 'run' })], 11, 'h2', now).kind).toBe('ask');
    expect(resolveApproval([record({ status: 'allowed', scope: 'once' })], 10, 'h2', now).kind).toBe('ask');
  });
});
