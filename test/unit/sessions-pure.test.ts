import { compactionBudget, contextWindow, planCut } from '../../src/agent/compaction';
import { buildRequest, SUMMARY_OPENING } from '../../src/agent/context-builder';
import type { CompactionRecord, JournalStep } from '../../src/agent/journal';
import { runCost } from '../../src/agent/loop';
import type { AgentMessage } from '../../src/agent/ports';
import { CLOSING_SEQ, NOT_RUN_RESULT, runEntries, type TranscriptEntry } from '../../src/agent/transcript';

// The pure parts of sessions: how a run becomes transcript entries, where a compaction cuts, the
// window of a model, and what a run's budget counts.

const usage = { promptTokens: 10, completionTokens: 1, cachedTokens: 0 };

function steps(): JournalStep[] {
  return [
    {
      kind: 'model',
      id: 11,
      seq: 1,
      content: null,
      toolCalls: [
        { id: 'a', name: 'read', arguments: '{"path":"x"}' },
        { id: 'b', name: 'bash', arguments: '{"command":"make"}' },
      ],
      usage,
      model: 'm',
      finishReason: 'tool_calls',
    },
    {
      kind: 'tool',
      id: 12,
      seq: 2,
      parentId: 11,
      toolCallId: 'a',
      tool: 'read',
      arguments: '{"path":"x"}',
      status: 'done',
      result: { content: 'x holds 1', isError: false },
    },
    {
      kind: 'tool',
      id: 13,
      seq: 3,
      parentId: 11,
      toolCallId: 'b',
      tool: 'bash',
      arguments: '{}',
      status: 'pending',
    },
  ];
}

function entry(role: AgentMessage['role'], tokens: number, seq: number): TranscriptEntry {
  const message: AgentMessage =
    role === 'tool' ? { role, toolCallId: 't', content: '' } : ({ role, content: '' } as AgentMessage);
  return { at: { runId: 1, seq }, message, tokens };
}

describe('runEntries', () => {
  it('renders a finished run with every call answered and its answer when no response holds it', () => {
    const entries = runEntries(
      { id: 7, message: 'do it', answer: 'I stopped at a limit.', steps: steps() },
      false,
    );
    expect(entries.map((e) => [e.at.seq, e.message.role, e.message.content])).toEqual([
      [0, 'user', 'do it'],
      [1, 'assistant', null],
      [2, 'tool', 'x holds 1'],
      // a call the run never ran still needs a result, or the provider refuses the request
      [3, 'tool', NOT_RUN_RESULT],
      [CLOSING_SEQ, 'assistant', 'I stopped at a limit.'],
    ]);
  });

  it('leaves out what a working run has not settled, and adds no closing answer', () => {
    const entries = runEntries({ id: 7, message: 'do it', answer: null, steps: steps() }, true);
    expect(entries.map((e) => e.at.seq)).toEqual([0, 1, 2]);
  });

  it('adds no closing answer when the last response is the answer', () => {
    const done: JournalStep[] = [
      { kind: 'model', id: 1, seq: 1, content: 'hi', toolCalls: [], usage, model: 'm', finishReason: 'stop' },
    ];
    expect(runEntries({ id: 1, message: 'hello', answer: 'hi', steps: done }, false)).toHaveLength(2);
  });
});

describe('buildRequest', () => {
  it('puts the summary after the system prompt and only the entries after the compaction', () => {
    const entries = runEntries({ id: 7, message: 'do it', answer: null, steps: steps().slice(0, 2) }, true);
    const compaction: CompactionRecord = {
      id: 1,
      kind: 'summary',
      through: { runId: 7, seq: 0 },
      summary: 'the goal',
      tokensBefore: 0,
      tokensAfter: 0,
      createdAt: 0,
    };
    const request = buildRequest('system', compaction, entries);
    expect(request.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(request.messages[1]!.content).toBe(`${SUMMARY_OPENING}\n\nthe goal`);
    expect(request.entries.map((e) => e.at.seq)).toEqual([1, 2]);
  });
});

describe('planCut', () => {
  it('keeps the newest entries that fit, and never a tool result apart from its call', () => {
    const entries = [
      entry('user', 100, 0),
      entry('assistant', 10, 1),
      entry('tool', 500, 2),
      entry('tool', 500, 3),
      entry('assistant', 10, 4),
      entry('user', 10, 5),
    ];
    // 520 fits the newest two and one result: the cut moves back to the call of the results
    expect(planCut(entries, 520)).toBe(1);
    expect(planCut(entries, 20)).toBe(4);
    // the newest entry is always kept
    expect(planCut(entries, 0)).toBe(5);
  });

  it('finds nothing to compact when everything fits or only the newest entry is there', () => {
    expect(planCut([entry('user', 10, 0), entry('assistant', 10, 1)], 100)).toBe(0);
    expect(planCut([entry('user', 10_000, 0)], 0)).toBe(0);
  });
});

describe('windows and budgets', () => {
  it('takes the window from AGENT_CONTEXT_TOKENS, else from the table by the longest prefix', () => {
    expect(contextWindow('gpt-4o-mini', 0)).toBe(128_000);
    expect(contextWindow('gpt-4.1-mini', 0)).toBe(1_047_576);
    expect(contextWindow('gpt-4', 0)).toBe(8_192);
    expect(contextWindow('openrouter/deepseek-chat', 0)).toBe(128_000);
    expect(contextWindow('my-local-model', 0)).toBe(128_000);
    expect(contextWindow('gpt-4o-mini', 12_000)).toBe(12_000);
  });

  it('scales the reserve and the kept part down for a small window', () => {
    expect(compactionBudget(128_000)).toMatchObject({ threshold: 128_000 - 16_384, keepRecent: 20_000 });
    expect(compactionBudget(12_000)).toMatchObject({ threshold: 9_000, keepRecent: 3_600 });
  });

  it("counts a run's cost: cached tokens weigh their share of the price", () => {
    const used = { promptTokens: 60_000, cachedTokens: 50_000, completionTokens: 1_000 };
    expect(runCost(used, 1)).toBe(61_000);
    expect(runCost(used, 0.1)).toBe(10_000 + 5_000 + 1_000);
    // 30 steps over a 60,000-token session, nothing cached, fit the default budget
    expect(30 * runCost({ promptTokens: 60_000, cachedTokens: 0, completionTokens: 1_000 }, 1)).toBeLessThan(
      2_000_000,
    );
  });
});
