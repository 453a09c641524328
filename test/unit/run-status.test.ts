import { paceStatus, StatusPace, STATUS_INTERVAL_MS } from '../../src/worker/status-pace';
import { RunProgress } from '../../src/worker/run-progress';
import type { CallInfo } from '../../src/agent/events';
import { bashTool } from '../../src/agent/tools/bash';
import { writeTool } from '../../src/agent/tools/write';
import { decideSandbox } from '../../src/workspace/sandbox';

const never = { shown: null, lastAt: null, blockedUntil: 0 };

describe('the status pace', () => {
  it('sends the first text at once', () => {
    expect(paceStatus('→ read a', never, 1000, STATUS_INTERVAL_MS)).toEqual({ kind: 'send' });
  });

  it('waits out the 3 s since the chat’s last status request', () => {
    const state = { shown: '→ read a', lastAt: 10_000, blockedUntil: 0 };
    expect(paceStatus('✓ read a', state, 11_000, 3000)).toEqual({ kind: 'wait', ms: 2000 });
    expect(paceStatus('✓ read a', state, 13_000, 3000)).toEqual({ kind: 'send' });
  });

  it('never sends the text the message already shows, nor an empty one', () => {
    const state = { shown: '→ read a', lastAt: 0, blockedUntil: 0 };
    expect(paceStatus('→ read a', state, 60_000, 3000)).toEqual({ kind: 'idle' });
    expect(paceStatus('  ', state, 60_000, 3000)).toEqual({ kind: 'idle' });
  });

  it('honours a retry_after longer than the interval', () => {
    const state = { shown: 'a', lastAt: 10_000, blockedUntil: 40_000 };
    expect(paceStatus('b', state, 14_000, 3000)).toEqual({ kind: 'wait', ms: 26_000 });
    expect(paceStatus('b', state, 40_000, 3000)).toEqual({ kind: 'send' });
  });

  it('keeps each chat’s times apart', () => {
    const pace = new StatusPace();
    pace.sent(1, 5000);
    pace.block(2, 9000);
    expect(pace.of(1)).toEqual({ lastAt: 5000, blockedUntil: 0 });
    expect(pace.of(2)).toEqual({ lastAt: null, blockedUntil: 9000 });
    expect(pace.of(3)).toEqual({ lastAt: null, blockedUntil: 0 });
  });
});

function call(stepId: number, name: string, description: string): CallInfo {
  return { stepId, toolCallId: `c${stepId}`, name, args: {}, description };
}

describe('the run progress text', () => {
  it('shows a call running, its progress, then its end with the exit code', () => {
    const p = new RunProgress(0);
    expect(p.hasCalls).toBe(false);
    expect(p.apply({ type: 'model-start', step: 1 })).toBe(false);
    const bash = call(2, 'bash', 'bash `npm test`');
    p.apply({ type: 'tool-start', call: call(1, 'read', 'read src/app.ts') });
    p.apply({
      type: 'tool-end',
      call: call(1, 'read', 'read src/app.ts'),
      status: 'done',
      result: { content: '1\tx', isError: false },
      durationMs: 3,
    });
    p.apply({ type: 'tool-start', call: bash });
    p.apply({ type: 'tool-progress', call: bash, text: 'running 12 s' });
    expect(p.render(14_000)).toBe(
      'Working… step 1, 14 s\n✓ read src/app.ts\n→ bash `npm test` (running 12 s)',
    );
    p.apply({
      type: 'tool-end',
      call: bash,
      status: 'done',
      result: { content: '', isError: false, exitCode: 0 },
      durationMs: 12_000,
    });
    p.apply({ type: 'model-start', step: 2 });
    p.finish('done');
    expect(p.render(20_000)).toBe('Done: 2 steps, 20 s\n✓ read src/app.ts\n✓ bash `npm test` exit 0');
  });

  it('says a failed, interrupted or denied call, and a cancelled run', () => {
    const p = new RunProgress(0);
    const end = (id: number, status: 'done' | 'interrupted' | 'denied', exitCode?: number) =>
      p.apply({
        type: 'tool-end',
        call: call(id, 'bash', `bash \`c${id}\``),
        status,
        result: { content: '', isError: true, ...(exitCode !== undefined ? { exitCode } : {}) },
        durationMs: 0,
      });
    end(1, 'done', 2);
    end(2, 'interrupted');
    end(3, 'denied');
    p.finish('cancelled');
    expect(p.render(1000)).toBe(
      'Cancelled (/stop) after 0 steps, 1 s\n✗ bash `c1` exit 2\n⚠ bash `c2`: interrupted\n✗ bash `c3`: denied',
    );
  });

  it('keeps a resumed run’s settled calls from the journal', () => {
    const p = new RunProgress(0);
    p.seed(
      [
        {
          kind: 'model',
          id: 1,
          seq: 1,
          content: null,
          toolCalls: [],
          usage: { promptTokens: 1, completionTokens: 1, cachedTokens: 0 },
          model: 'm',
          finishReason: 'tool_calls',
        },
        {
          kind: 'tool',
          id: 2,
          seq: 2,
          parentId: 1,
          toolCallId: 'a',
          tool: 'write',
          arguments: '{"path":"hello.sh","content":"x"}',
          status: 'done',
          result: { content: 'wrote 1 bytes', isError: false },
        },
        {
          kind: 'tool',
          id: 3,
          seq: 3,
          parentId: 1,
          toolCallId: 'b',
          tool: 'bash',
          arguments: '{}',
          status: 'running',
        },
      ],
      [writeTool, bashTool({ sandbox: decideSandbox('off', null) })],
    );
    expect(p.hasCalls).toBe(true);
    expect(p.render(0)).toBe('Working… step 1, 0 s\n✓ write hello.sh');
  });

  it('shows only the newest 15 calls and counts the others', () => {
    const p = new RunProgress(0);
    for (let i = 1; i <= 20; i++) p.apply({ type: 'tool-start', call: call(i, 'ls', `ls d${i}`) });
    const lines = p.render(0).split('\n');
    expect(lines).toHaveLength(17);
    expect(lines[1]).toBe('… 5 earlier');
    expect(lines.at(-1)).toBe('→ ls d20');
  });
});
