import { DENIED_RESULT, EXPIRED_RESULT } from '../../src/agent/approval-policy';
import type { AgentEvent } from '../../src/agent/events';
import {
  runAgent,
  STALLED_ANSWER,
  type AgentApprovalSettings,
  type ApprovalRequest,
} from '../../src/agent/loop';
import { INTERRUPTED_RESULT, type Tool } from '../../src/agent/ports';
import { AbortReason } from '../../src/agent/abort-reasons';
import {
  answer,
  callTools,
  fakeTool,
  Killed,
  killable,
  runInput,
  runPorts,
  scriptedModel,
  testClock,
  testJournal,
  toolMessages,
  type FakeTool,
  type TestJournal,
} from '../helpers/agent-world';

/** A little world: files in memory, `write` (check-applied), `bash` (never), `read` and `ls` (rerun). */
function world() {
  const files = new Map<string, string>();
  const write = fakeTool({
    name: 'write',
    resume: 'check-applied',
    run: (args) => {
      const { path, content } = args as { path: string; content: string };
      files.set(path, content);
      return { content: `wrote ${content.length} bytes to ${path}`, isError: false };
    },
    isApplied: (args) => {
      const { path, content } = args as { path: string; content: string };
      return files.get(path) === content;
    },
  });
  const bash = fakeTool({
    name: 'bash',
    resume: 'never',
    run: (args) => {
      const { command } = args as { command: string };
      const m = /^cat (.+)$/.exec(command);
      if (m) return { content: `exit 0\n${files.get(m[1]!) ?? ''}`, isError: false, exitCode: 0 };
      return { content: `exit 0\nran ${command}`, isError: false, exitCode: 0 };
    },
  });
  const read = fakeTool({
    name: 'read',
    readOnly: true,
    run: (args) => ({
      content: files.get((args as { path: string }).path) ?? 'no such file',
      isError: false,
    }),
  });
  return { files, write, bash, read, tools: [write, bash, read] as Tool[] };
}

const ON_RISK: AgentApprovalSettings = { mode: 'on-risk', sandboxed: false, timeoutSeconds: 1800 };

describe.each(['memory', 'sqlite'] as const)('agent loop on the %s journal', (kind) => {
  let tj: TestJournal;
  beforeEach(() => (tj = testJournal(kind)));
  afterEach(() => tj.close());

  it('answers at once when the model calls no tool, offering the tools and the message', async () => {
    const w = world();
    const model = scriptedModel([answer('hello there')]);
    const clock = testClock();
    const input = runInput(tj.newInboxId(), {
      run: { inboxId: 0, chatId: 42, project: 'default', message: 'hi' },
    });
    const result = await runAgent(
      { ...input, run: { ...input.run, inboxId: tj.newInboxId() } },
      runPorts(model, w.tools, tj.journal, clock),
    );
    expect(result).toMatchObject({ status: 'done', answer: 'hello there', steps: 1 });
    expect(result.usage).toEqual({ promptTokens: 100, completionTokens: 10, cachedTokens: 0 });
    expect(model.calls[0]!.messages).toEqual([
      { role: 'system', content: 'You are a test.' },
      { role: 'user', content: 'hi' },
    ]);
    expect(model.calls[0]!.tools.map((t) => t.name)).toEqual(['write', 'bash', 'read']);
  });

  it('writes a file, runs it, and answers with the output the tools gave', async () => {
    const w = world();
    const writeCall = callTools(['write', { path: 'hello.sh', content: 'echo hi' }]);
    const bashCall = callTools(['bash', { command: 'cat hello.sh' }]);
    const model = scriptedModel([
      writeCall,
      bashCall,
      (call) => answer(`the output: ${toolMessages(call).get(bashCall.toolCalls[0]!.id)}`),
    ]);
    const events: AgentEvent[] = [];
    const result = await runAgent(
      runInput(tj.newInboxId()),
      runPorts(model, w.tools, tj.journal, testClock(), { emit: (e) => events.push(e) }),
    );
    expect(result.status).toBe('done');
    expect(result.answer).toBe('the output: exit 0\necho hi');
    expect(result.steps).toBe(3);
    expect(result.usage.promptTokens).toBe(300);
    expect(w.files.get('hello.sh')).toBe('echo hi');
    // the second call saw the write's result, in the chat-completions order
    expect(model.calls[1]!.messages.slice(-2)).toEqual([
      { role: 'assistant', content: null, toolCalls: writeCall.toolCalls },
      { role: 'tool', toolCallId: writeCall.toolCalls[0]!.id, content: 'wrote 7 bytes to hello.sh' },
    ]);
    expect(
      events.filter((e) => e.type === 'tool-end').map((e) => e.type === 'tool-end' && e.call.description),
    ).toEqual(['write hello.sh', 'bash `cat hello.sh`']);
  });

  it('runs the read-only calls of a response together and the others one at a time, answering all in order', async () => {
    const order: string[] = [];
    const slow = (name: string, readOnly: boolean): FakeTool =>
      fakeTool({
        name,
        readOnly,
        run: async (args) => {
          const tag = `${name}:${(args as { n: number }).n}`;
          order.push(`start ${tag}`);
          for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
          order.push(`end ${tag}`);
          return { content: tag, isError: false };
        },
      });
    const response = callTools(
      ['look', { n: 1 }],
      ['look', { n: 2 }],
      ['change', { n: 3 }],
      ['change', { n: 4 }],
    );
    const model = scriptedModel([response, answer('ok')]);
    await runAgent(
      runInput(tj.newInboxId()),
      runPorts(model, [slow('look', true), slow('change', false)], tj.journal, testClock()),
    );
    expect(order).toEqual([
      'start look:1',
      'start look:2',
      'end look:1',
      'end look:2',
      'start change:3',
      'end change:3',
      'start change:4',
      'end change:4',
    ]);
    const tools = model.calls[1]!.messages.filter((m) => m.role === 'tool');
    expect(tools.map((m) => m.role === 'tool' && m.content)).toEqual([
      'look:1',
      'look:2',
      'change:3',
      'change:4',
    ]);
  });

  it('tells the model when arguments are not JSON, the tool is unknown, or the tool threw, and runs nothing broken', async () => {
    const w = world();
    const boom = fakeTool({
      name: 'boom',
      run: () => {
        throw new Error('disk on fire');
      },
    });
    const response = callTools(['write', '{"path": "a.txt", "content": '], ['nope', {}], ['boom', {}]);
    const model = scriptedModel([response, answer('sorry')]);
    const result = await runAgent(
      runInput(tj.newInboxId()),
      runPorts(model, [...w.tools, boom], tj.journal, testClock()),
    );
    expect(result.status).toBe('done');
    expect(w.write.runs).toHaveLength(0);
    const results = [...toolMessages(model.calls[1]!).values()];
    expect(results[0]).toMatch(
      /^error: the arguments of write are not valid JSON .*Send them again as one JSON object\.$/,
    );
    expect(results[1]).toBe('error: there is no tool "nope"; the tools are: write, bash, read, boom');
    expect(results[2]).toBe('error: boom failed: disk on fire');
  });

  it('stops at AGENT_MAX_STEPS with an answer saying what was done and what was left', async () => {
    const w = world();
    const model = scriptedModel([
      callTools(['bash', { command: 'step 1' }]),
      { ...callTools(['bash', { command: 'step 2' }]), content: 'still working on the build' },
      callTools(['bash', { command: 'step 3' }]),
    ]);
    const input = runInput(tj.newInboxId(), {
      limits: { maxSteps: 3, maxRunSeconds: 1800, maxRunTokens: 300_000, cachedWeight: 1 },
    });
    const result = await runAgent(input, runPorts(model, w.tools, tj.journal, testClock()));
    expect(result.status).toBe('limit');
    expect(model.calls).toHaveLength(3);
    expect(w.bash.runs).toHaveLength(3);
    expect(result.answer).toContain('its limit of 3 model calls (AGENT_MAX_STEPS)');
    expect(result.answer).toContain('- bash `step 3` (exit 0)');
    expect(result.answer).toContain('Where I was: still working on the build');
  });

  it('stops at AGENT_MAX_RUN_TOKENS and AGENT_MAX_RUN_SECONDS before asking the model again', async () => {
    const w = world();
    const tokens = scriptedModel([
      callTools(['bash', { command: 'a' }]),
      callTools(['bash', { command: 'b' }]),
    ]);
    const byTokens = await runAgent(
      runInput(tj.newInboxId(), {
        limits: { maxSteps: 30, maxRunSeconds: 1800, maxRunTokens: 220, cachedWeight: 1 },
      }),
      runPorts(tokens, w.tools, tj.journal, testClock()),
    );
    expect(byTokens.status).toBe('limit');
    expect(tokens.calls).toHaveLength(2);
    expect(byTokens.answer).toContain('AGENT_MAX_RUN_TOKENS');

    const clock = testClock();
    const slowBash = fakeTool({
      name: 'bash',
      run: () => {
        clock.advance(61_000);
        return { content: 'exit 0', isError: false, exitCode: 0 };
      },
    });
    const time = scriptedModel([callTools(['bash', { command: 'sleep 61' }])]);
    const byTime = await runAgent(
      runInput(tj.newInboxId(), {
        limits: { maxSteps: 30, maxRunSeconds: 60, maxRunTokens: 300_000, cachedWeight: 1 },
      }),
      runPorts(time, [slowBash], tj.journal, clock),
    );
    expect(byTime.status).toBe('limit');
    expect(time.calls).toHaveLength(1);
    expect(byTime.answer).toContain('its time limit of 60 s (AGENT_MAX_RUN_SECONDS)');
  });

  it('returns the stored outcome of a finished run without asking the model', async () => {
    const w = world();
    const inboxId = tj.newInboxId();
    await runAgent(
      runInput(inboxId),
      runPorts(scriptedModel([answer('first')]), w.tools, tj.journal, testClock()),
    );
    const again = scriptedModel([]);
    const result = await runAgent(runInput(inboxId), runPorts(again, w.tools, tj.journal, testClock()));
    expect(result).toMatchObject({ status: 'done', answer: 'first', steps: 1 });
    expect(again.calls).toHaveLength(0);
  });

  describe('resuming after a kill', () => {
    it('runs the tools of a stored response once and never asks the model for it again', async () => {
      const w = world();
      const inboxId = tj.newInboxId();
      const dying = killable(tj.journal);
      dying.killAfter('recordModel');
      const first = scriptedModel([
        callTools(['write', { path: 'a.txt', content: 'A' }], ['bash', { command: 'cat a.txt' }]),
      ]);
      await expect(runAgent(runInput(inboxId), runPorts(first, w.tools, dying, testClock()))).rejects.toThrow(
        Killed,
      );
      expect(w.write.runs).toHaveLength(0);

      const second = scriptedModel([(call) => answer(`saw ${[...toolMessages(call).values()].join(' | ')}`)]);
      const events: AgentEvent[] = [];
      const result = await runAgent(
        runInput(inboxId),
        runPorts(second, w.tools, tj.journal, testClock(), { emit: (e) => events.push(e) }),
      );
      expect(events[0]).toMatchObject({ type: 'run-start', opening: 'resumed' });
      expect(second.calls).toHaveLength(1);
      // a `never` tool that had not started (pending) runs normally
      expect(w.write.runs).toHaveLength(1);
      expect(w.bash.runs).toHaveLength(1);
      expect(result).toMatchObject({
        status: 'done',
        answer: 'saw wrote 1 bytes to a.txt | exit 0\nA',
        steps: 2,
      });
    });

    it('never runs a bash-like call twice: the model gets the interrupted result', async () => {
      const w = world();
      const inboxId = tj.newInboxId();
      const dying = killable(tj.journal);
      const deadly = fakeTool({ name: 'bash', resume: 'never', run: () => dying.kill() });
      const first = scriptedModel([callTools(['bash', { command: 'sleep 5 && touch done' }])]);
      await expect(
        runAgent(runInput(inboxId), runPorts(first, [deadly], dying, testClock())),
      ).rejects.toThrow(Killed);
      expect(deadly.runs).toHaveLength(1);

      const second = scriptedModel([(call) => answer([...toolMessages(call).values()][0]!)]);
      const result = await runAgent(
        runInput(inboxId),
        runPorts(second, [deadly, w.read], tj.journal, testClock()),
      );
      expect(deadly.runs).toHaveLength(1);
      expect(result.answer).toBe(INTERRUPTED_RESULT);
      expect(second.calls).toHaveLength(1);
    });

    it('applies a check-applied call once: not again when it took effect, once when it had not', async () => {
      const files = new Map<string, string>();
      const inboxId = tj.newInboxId();
      let dying = killable(tj.journal);
      let mode: 'die after applying' | 'die before applying' | 'live' = 'die after applying';
      const write = fakeTool({
        name: 'write',
        resume: 'check-applied',
        run: (args) => {
          const { path, content } = args as { path: string; content: string };
          if (mode === 'die before applying') return dying.kill();
          files.set(path, content);
          if (mode === 'die after applying') return dying.kill();
          return { content: `wrote ${content.length} bytes to ${path}`, isError: false };
        },
        isApplied: (args) => {
          const { path, content } = args as { path: string; content: string };
          return files.get(path) === content;
        },
      });
      const first = scriptedModel([callTools(['write', { path: 'applied.txt', content: 'one' }])]);
      await expect(runAgent(runInput(inboxId), runPorts(first, [write], dying, testClock()))).rejects.toThrow(
        Killed,
      );

      dying = killable(tj.journal);
      mode = 'die before applying';
      const second = scriptedModel([callTools(['write', { path: 'lost.txt', content: 'two' }])]);
      await expect(
        runAgent(runInput(inboxId), runPorts(second, [write], dying, testClock())),
      ).rejects.toThrow(Killed);
      // applied.txt was checked, not written again; lost.txt died before it was applied
      expect(write.runs).toEqual([
        { path: 'applied.txt', content: 'one' },
        { path: 'lost.txt', content: 'two' },
      ]);

      mode = 'live';
      const third = scriptedModel([(call) => answer([...toolMessages(call).values()].join(' | '))]);
      const result = await runAgent(runInput(inboxId), runPorts(third, [write], tj.journal, testClock()));
      expect(write.runs).toHaveLength(3);
      expect(files.get('lost.txt')).toBe('two');
      expect(result.answer).toBe(
        'write applied.txt: done (it had taken effect before the worker restarted) | wrote 3 bytes to lost.txt',
      );
    });

    it('ends a run resumed more than twice in a row without progress while a tool ran, saying so', async () => {
      const w = world();
      const inboxId = tj.newInboxId();
      // the first attempt stores the response; then every attempt dies while its (re-run) read runs
      const first = killable(tj.journal);
      first.killAfter('markRunning');
      await expect(
        runAgent(
          runInput(inboxId),
          runPorts(scriptedModel([callTools(['read', { path: 'f' }])]), w.tools, first, testClock()),
        ),
      ).rejects.toThrow(Killed);
      for (let attempt = 0; attempt < 3; attempt++) {
        const dying = killable(tj.journal);
        dying.killAfter('markRunning');
        await expect(
          runAgent(runInput(inboxId), runPorts(scriptedModel([]), w.tools, dying, testClock())),
        ).rejects.toThrow(Killed);
      }
      const last = scriptedModel([]);
      const result = await runAgent(runInput(inboxId), runPorts(last, w.tools, tj.journal, testClock()));
      expect(last.calls).toHaveLength(0);
      expect(result).toMatchObject({ status: 'failed', answer: STALLED_ANSWER });
    });

    it('never counts kills during a model call as a stall: those are attempts of the message', async () => {
      const w = world();
      const inboxId = tj.newInboxId();
      for (let attempt = 0; attempt < 5; attempt++) {
        const dying = killable(tj.journal);
        await expect(
          runAgent(
            runInput(inboxId),
            runPorts(scriptedModel([() => dying.kill()]), w.tools, dying, testClock()),
          ),
        ).rejects.toThrow(Killed);
      }
      const result = await runAgent(
        runInput(inboxId),
        runPorts(scriptedModel([answer('made it')]), w.tools, tj.journal, testClock()),
      );
      expect(result).toMatchObject({ status: 'done', answer: 'made it' });
    });

    it('counts a resume with progress as a fresh start of the stall count', async () => {
      const w = world();
      const inboxId = tj.newInboxId();
      // each attempt stores one more response before dying: progress every time
      for (let attempt = 0; attempt < 4; attempt++) {
        const dying = killable(tj.journal);
        dying.killAfter('recordModel');
        const model = scriptedModel([callTools(['read', { path: `f${attempt}` }])]);
        await expect(
          runAgent(runInput(inboxId), runPorts(model, w.tools, dying, testClock())),
        ).rejects.toThrow(Killed);
      }
      const last = scriptedModel([answer('made it')]);
      const result = await runAgent(runInput(inboxId), runPorts(last, w.tools, tj.journal, testClock()));
      expect(result).toMatchObject({ status: 'done', answer: 'made it', steps: 5 });
    });
  });

  describe('stopping', () => {
    it('cancels on /stop: the running tool gets the signal and the run ends cancelled', async () => {
      const controller = new AbortController();
      let sawAbort = false;
      const long = fakeTool({
        name: 'bash',
        run: (_args, ctx) =>
          new Promise((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => {
              sawAbort = true;
              reject(new Error('killed the process group'));
            });
            controller.abort();
          }),
      });
      const model = scriptedModel([callTools(['bash', { command: 'sleep 600' }])]);
      const result = await runAgent(
        runInput(tj.newInboxId()),
        runPorts(model, [long], tj.journal, testClock(), { signal: controller.signal }),
      );
      expect(sawAbort).toBe(true);
      expect(result.status).toBe('cancelled');
      expect(model.calls).toHaveLength(1);
    });

    it('cancels a model call in flight', async () => {
      const controller = new AbortController();
      const model = scriptedModel([
        (_call, signal) =>
          new Promise((_resolve, reject) => {
            signal!.addEventListener('abort', () => reject(new Error('aborted')));
            controller.abort();
          }),
      ]);
      const result = await runAgent(
        runInput(tj.newInboxId()),
        runPorts(model, [], tj.journal, testClock(), { signal: controller.signal }),
      );
      expect(result.status).toBe('cancelled');
    });

    it('leaves the run to resume when the worker stops, not counting a resume, and the bash is not run again', async () => {
      const controller = new AbortController();
      const inboxId = tj.newInboxId();
      const bash = fakeTool({
        name: 'bash',
        run: (_args, ctx) =>
          // a second run (the bug this test guards against) returns at once instead of waiting
          ctx.signal === controller.signal
            ? new Promise((_resolve, reject) => {
                ctx.signal.addEventListener('abort', () => reject(new Error('killed')));
                controller.abort(new AbortReason('worker-stopping'));
              })
            : { content: 'ran again', isError: false },
      });
      const first = scriptedModel([callTools(['bash', { command: 'make' }])]);
      const stopped = await runAgent(
        runInput(inboxId),
        runPorts(first, [bash], tj.journal, testClock(), { signal: controller.signal }),
      );
      expect(stopped.status).toBe('interrupted');

      const events: AgentEvent[] = [];
      const second = scriptedModel([(call) => answer([...toolMessages(call).values()][0]!)]);
      const result = await runAgent(
        runInput(inboxId),
        runPorts(second, [bash], tj.journal, testClock(), { emit: (e) => events.push(e) }),
      );
      expect(events[0]).toMatchObject({ type: 'run-start', opening: 'continued' });
      expect(bash.runs).toHaveLength(1);
      expect(result.answer).toBe(INTERRUPTED_RESULT);
    });

    it('throws a model error after suspending the run, and the retry continues it', async () => {
      const w = world();
      const inboxId = tj.newInboxId();
      const failing = scriptedModel([
        callTools(['read', { path: 'x' }]),
        () => {
          throw new Error('model server said 503');
        },
      ]);
      await expect(
        runAgent(runInput(inboxId), runPorts(failing, w.tools, tj.journal, testClock())),
      ).rejects.toThrow('503');
      const events: AgentEvent[] = [];
      const retry = scriptedModel([answer('done now')]);
      const result = await runAgent(
        runInput(inboxId),
        runPorts(retry, w.tools, tj.journal, testClock(), { emit: (e) => events.push(e) }),
      );
      expect(events[0]).toMatchObject({ type: 'run-start', opening: 'continued' });
      expect(w.read.runs).toHaveLength(1);
      expect(result).toMatchObject({ status: 'done', answer: 'done now', steps: 2 });
    });
  });

  describe('approvals', () => {
    function approvalWorld() {
      const w = world();
      const asked: number[] = [];
      const askApproval = async ({ approval }: { approval: { id: number } }): Promise<void> => {
        asked.push(approval.id);
        tj.setCard(approval.id, 1000 + approval.id);
      };
      return { ...w, asked, askApproval };
    }

    it('parks before an unsandboxed bash, runs it once after Allow once', async () => {
      const w = approvalWorld();
      const clock = testClock();
      const inboxId = tj.newInboxId();
      const input = runInput(inboxId, { approval: ON_RISK });
      const bashCall = callTools(['bash', { command: 'rm -rf build' }]);
      const model = scriptedModel([
        bashCall,
        (call) => answer(toolMessages(call).get(bashCall.toolCalls[0]!.id)!),
      ]);
      const ports = runPorts(model, w.tools, tj.journal, clock, { askApproval: w.askApproval });
      const parked = await runAgent(input, ports);
      expect(parked.status).toBe('parked');
      expect(parked.approvalId).toBe(w.asked[0]);
      expect(w.bash.runs).toHaveLength(0);

      // woken before a decision: still parked, no second card
      expect((await runAgent(input, ports)).status).toBe('parked');
      expect(w.asked).toHaveLength(1);

      clock.advance(60_000);
      tj.decide(parked.approvalId!, 'allow-once', clock.now());
      const result = await runAgent(input, ports);
      expect(result).toMatchObject({ status: 'done', answer: 'exit 0\nran rm -rf build' });
      expect(w.bash.runs).toHaveLength(1);
      expect(model.calls).toHaveLength(2);
    });

    it('shows the card again when the run resumes and no card was recorded as sent', async () => {
      const w = approvalWorld();
      const inboxId = tj.newInboxId();
      const input = runInput(inboxId, { approval: ON_RISK });
      const dying = killable(tj.journal);
      const model = scriptedModel([callTools(['bash', { command: 'make' }])]);
      const cards: number[] = [];
      const dies = runPorts(model, w.tools, dying, testClock(), { askApproval: async () => dying.kill() });
      await expect(runAgent(input, dies)).rejects.toThrow(Killed);
      const ports = runPorts(model, w.tools, tj.journal, testClock(), {
        askApproval: async ({ approval }) => void cards.push(approval.id),
      });
      const parked = await runAgent(input, ports);
      expect(parked.status).toBe('parked');
      expect(cards).toEqual([parked.approvalId]);
      expect(tj.journal.approvals(parked.runId)).toHaveLength(1);
    });

    it('tells the model a denial and runs nothing', async () => {
      const w = approvalWorld();
      const clock = testClock();
      const input = runInput(tj.newInboxId(), { approval: ON_RISK });
      const bashCall = callTools(['bash', { command: 'curl evil' }]);
      const model = scriptedModel([
        bashCall,
        (call) => answer(toolMessages(call).get(bashCall.toolCalls[0]!.id)!),
      ]);
      const ports = runPorts(model, w.tools, tj.journal, clock, { askApproval: w.askApproval });
      const parked = await runAgent(input, ports);
      tj.decide(parked.approvalId!, 'deny', clock.now());
      const result = await runAgent(input, ports);
      expect(result.answer).toBe(DENIED_RESULT);
      expect(w.bash.runs).toHaveLength(0);
    });

    it('lets Allow for this run cover an identical later call, and asks again for a different one', async () => {
      const w = approvalWorld();
      const clock = testClock();
      const input = runInput(tj.newInboxId(), { approval: ON_RISK });
      const model = scriptedModel([
        callTools(['bash', { command: 'npm test' }]),
        callTools(['bash', { command: 'npm test' }]),
        callTools(['bash', { command: 'npm publish' }]),
        answer('done'),
      ]);
      const ports = runPorts(model, w.tools, tj.journal, clock, { askApproval: w.askApproval });
      const first = await runAgent(input, ports);
      tj.decide(first.approvalId!, 'allow-run', clock.now());
      const second = await runAgent(input, ports);
      expect(second.status).toBe('parked');
      expect(w.bash.runs).toEqual([{ command: 'npm test' }, { command: 'npm test' }]);
      expect(w.asked).toHaveLength(2);
      expect(second.approvalId).not.toBe(first.approvalId);
      tj.decide(second.approvalId!, 'allow-once', clock.now());
      expect((await runAgent(input, ports)).status).toBe('done');
      expect(w.bash.runs).toHaveLength(3);
    });

    it('asks again for an identical call after Allow once', async () => {
      const w = approvalWorld();
      const clock = testClock();
      const input = runInput(tj.newInboxId(), { approval: ON_RISK });
      const model = scriptedModel([
        callTools(['bash', { command: 'make' }]),
        callTools(['bash', { command: 'make' }]),
      ]);
      const ports = runPorts(model, w.tools, tj.journal, clock, { askApproval: w.askApproval });
      const first = await runAgent(input, ports);
      tj.decide(first.approvalId!, 'allow-once', clock.now());
      const second = await runAgent(input, ports);
      expect(second.status).toBe('parked');
      expect(w.bash.runs).toHaveLength(1);
      expect(w.asked).toHaveLength(2);
    });

    it('lets an Allow for this run lapse once a file changes unasked, and the new card names the file', async () => {
      const w = world();
      const clock = testClock();
      const requests: ApprovalRequest[] = [];
      const askApproval = async (request: ApprovalRequest): Promise<void> => {
        requests.push(request);
        tj.setCard(request.approval.id, 1000 + request.approval.id);
      };
      const input = runInput(tj.newInboxId(), { approval: ON_RISK });
      const model = scriptedModel([
        callTools(['write', { path: 'notes.txt', content: 'first' }]),
        callTools(['bash', { command: 'make test' }]),
        callTools(['bash', { command: 'make test' }]),
        callTools(
          ['write', { path: 'Makefile', content: 'test:\n\tevil' }],
          ['write', { path: 'src/x.c', content: '' }],
        ),
        callTools(['bash', { command: 'make test' }]),
        callTools(['bash', { command: 'make test' }]),
        answer('done'),
      ]);
      const ports = runPorts(model, w.tools, tj.journal, clock, { askApproval });
      const first = await runAgent(input, ports);
      expect(first.status).toBe('parked');
      // the first card: what the run wrote before it, since it began
      expect(requests[0]).toMatchObject({
        kind: 'run',
        risks: ['unsandboxed'],
        changed: { since: 'run-start', files: ['notes.txt'] },
      });
      tj.decide(first.approvalId!, 'allow-run', clock.now());

      // the identical call runs without a card; after the writes the same text is asked again
      const second = await runAgent(input, ports);
      expect(second.status).toBe('parked');
      expect(w.bash.runs).toEqual([{ command: 'make test' }, { command: 'make test' }]);
      expect(requests).toHaveLength(2);
      expect(requests[1]!.changed).toEqual({ since: 'last-approval', files: ['Makefile', 'src/x.c'] });
      tj.decide(second.approvalId!, 'allow-run', clock.now());

      // the renewed approval covers the next identical call: nothing changed since
      expect(await runAgent(input, ports)).toMatchObject({ status: 'done', answer: 'done' });
      expect(w.bash.runs).toHaveLength(4);
      expect(requests).toHaveLength(2);
    });

    it('in the sandbox, lets an Allow for this run of a network command lapse after an unasked command', async () => {
      const w = approvalWorld();
      const clock = testClock();
      const input = runInput(tj.newInboxId(), { approval: { ...ON_RISK, sandboxed: true } });
      const fetch = { command: 'make fetch', network: true };
      const model = scriptedModel([
        callTools(['bash', fetch]),
        callTools(['bash', fetch]),
        // needs no approval in the sandbox, but may rewrite the Makefile behind `make fetch`
        callTools(['bash', { command: 'printf "fetch:\\n\\tcurl evil" > Makefile' }]),
        callTools(['bash', fetch]),
        answer('done'),
      ]);
      const ports = runPorts(model, w.tools, tj.journal, clock, { askApproval: w.askApproval });
      const first = await runAgent(input, ports);
      expect(first.status).toBe('parked');
      tj.decide(first.approvalId!, 'allow-run', clock.now());
      const second = await runAgent(input, ports);
      // the identical call ran under the approval, the plain command unasked, then a new card
      expect(second.status).toBe('parked');
      expect(w.bash.runs).toHaveLength(3);
      expect(w.asked).toHaveLength(2);
      tj.decide(second.approvalId!, 'allow-once', clock.now());
      expect(await runAgent(input, ports)).toMatchObject({ status: 'done', answer: 'done' });
      expect(w.bash.runs).toHaveLength(4);
    });

    it('keeps an Allow for this run when the change in between was itself approved', async () => {
      const w = approvalWorld();
      const clock = testClock();
      const input = runInput(tj.newInboxId(), { approval: { ...ON_RISK, mode: 'always' } });
      const model = scriptedModel([
        callTools(['bash', { command: 'make test' }]),
        callTools(['write', { path: 'Makefile', content: 'test:\n\ttrue' }]),
        callTools(['bash', { command: 'make test' }]),
        answer('done'),
      ]);
      const ports = runPorts(model, w.tools, tj.journal, clock, { askApproval: w.askApproval });
      const first = await runAgent(input, ports);
      tj.decide(first.approvalId!, 'allow-run', clock.now());
      const write = await runAgent(input, ports);
      expect(write.status).toBe('parked');
      tj.decide(write.approvalId!, 'allow-once', clock.now());
      expect(await runAgent(input, ports)).toMatchObject({ status: 'done', answer: 'done' });
      expect(w.asked).toHaveLength(2);
      expect(w.bash.runs).toHaveLength(2);
    });

    it('denies a call nobody decided within the timeout', async () => {
      const w = approvalWorld();
      const clock = testClock();
      const input = runInput(tj.newInboxId(), { approval: { ...ON_RISK, timeoutSeconds: 60 } });
      const bashCall = callTools(['bash', { command: 'make' }]);
      const model = scriptedModel([
        bashCall,
        (call) => answer(toolMessages(call).get(bashCall.toolCalls[0]!.id)!),
      ]);
      const ports = runPorts(model, w.tools, tj.journal, clock, { askApproval: w.askApproval });
      const parked = await runAgent(input, ports);
      clock.advance(60_000);
      const result = await runAgent(input, ports);
      expect(result.answer).toBe(EXPIRED_RESULT);
      expect(w.bash.runs).toHaveLength(0);
      expect(tj.journal.approvals(result.runId).find((a) => a.id === parked.approvalId)?.status).toBe(
        'expired',
      );
    });

    it('does not count the time parked against the run time limit', async () => {
      const w = approvalWorld();
      const clock = testClock();
      const input = runInput(tj.newInboxId(), {
        approval: ON_RISK,
        limits: { maxSteps: 30, maxRunSeconds: 600, maxRunTokens: 300_000, cachedWeight: 1 },
      });
      const model = scriptedModel([callTools(['bash', { command: 'make' }]), answer('built')]);
      const ports = runPorts(model, w.tools, tj.journal, clock, { askApproval: w.askApproval });
      const parked = await runAgent(input, ports);
      clock.advance(1_000_000);
      tj.decide(parked.approvalId!, 'allow-once', clock.now());
      expect(await runAgent(input, ports)).toMatchObject({ status: 'done', answer: 'built' });
    });

    it('asks nothing in a sandbox, and reads never ask even with always', async () => {
      const w = approvalWorld();
      const model = scriptedModel([callTools(['bash', { command: 'make' }]), answer('ok')]);
      const sandboxed = await runAgent(
        runInput(tj.newInboxId(), { approval: { ...ON_RISK, sandboxed: true } }),
        runPorts(model, w.tools, tj.journal, testClock(), { askApproval: w.askApproval }),
      );
      expect(sandboxed.status).toBe('done');
      const reads = scriptedModel([callTools(['read', { path: 'a' }]), answer('ok')]);
      const always = await runAgent(
        runInput(tj.newInboxId(), { approval: { ...ON_RISK, mode: 'always' } }),
        runPorts(reads, w.tools, tj.journal, testClock(), { askApproval: w.askApproval }),
      );
      expect(always.status).toBe('done');
      expect(w.asked).toHaveLength(0);
    });
  });
});
