import { PassThrough } from 'node:stream';
import { runAgent } from '../../src/agent/loop';
import type { CliContext } from '../../src/cli/context';
import { createOutput } from '../../src/cli/output';
import { run } from '../../src/cli/run';
import {
  answer,
  callTools,
  fakeTool,
  runInput,
  runPorts,
  scriptedModel,
  testClock,
  testJournal,
  type TestJournal,
} from '../helpers/agent-world';

// `runs ls`, `runs show` and `approvals ls` over a journal the real loop wrote.

let tj: TestJournal;
beforeEach(() => (tj = testJournal('sqlite')));
afterEach(() => tj.close());

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ctx: CliContext = {
    out: createOutput(stdout, stderr, {}),
    env: {},
    now: () => 1_800_000_100_000,
    exitCode: 0,
  };
  const code = await run(['node', 'autonous', '--db', tj.db!.path, ...args], ctx);
  return { code, stdout: out, stderr: err };
}

async function twoRuns(): Promise<{ done: number; parked: number }> {
  const clock = testClock();
  const bash = fakeTool({
    name: 'bash',
    run: () => {
      clock.advance(1500);
      return { content: 'exit 3\nboom', isError: true, exitCode: 3 };
    },
  });
  const done = await runAgent(
    runInput(tj.newInboxId()),
    runPorts(
      scriptedModel([callTools(['bash', { command: 'make test' }]), answer('it failed')]),
      [bash],
      tj.journal,
      clock,
    ),
  );
  const parked = await runAgent(
    runInput(tj.newInboxId(), { approval: { mode: 'always', sandboxed: true, timeoutSeconds: 1800 } }),
    runPorts(scriptedModel([callTools(['bash', { command: 'rm -rf /tmp/x' }])]), [bash], tj.journal, clock, {
      askApproval: async () => undefined,
    }),
  );
  return { done: done.runId, parked: parked.runId };
}

describe('runs and approvals commands', () => {
  it('lists runs newest first, filtered by status, as a table and as JSON', async () => {
    const { done, parked } = await twoRuns();
    const table = await cli(['runs', 'ls']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/ID\s+CHAT\s+STATUS/);
    expect(table.stdout).toContain('parked');
    const json = JSON.parse((await cli(['--json', 'runs', 'ls', '--status', 'done'])).stdout) as {
      id: number;
    }[];
    expect(json).toEqual([
      expect.objectContaining({
        id: done,
        status: 'done',
        modelCalls: 2,
        toolCalls: 1,
        request: 'request 1',
      }),
    ]);
    const all = JSON.parse((await cli(['--json', 'runs', 'ls', '--chat', '42'])).stdout) as { id: number }[];
    expect(all.map((r) => r.id)).toEqual([parked, done]);
  });

  it('shows a run with each step: tool, arguments, status, exit code, duration and tokens', async () => {
    const { done } = await twoRuns();
    const detail = JSON.parse((await cli(['runs', 'show', String(done), '--json'])).stdout) as {
      steps: Record<string, unknown>[];
      answer: string;
    };
    expect(detail.answer).toBe('it failed');
    expect(detail.steps).toEqual([
      expect.objectContaining({ kind: 'model', promptTokens: 100, completionTokens: 10, toolCalls: 1 }),
      expect.objectContaining({
        kind: 'tool',
        tool: 'bash',
        arguments: { command: 'make test' },
        status: 'done',
        exitCode: 3,
        isError: true,
        durationMs: 1500,
      }),
      expect.objectContaining({ kind: 'model', content: 'it failed' }),
    ]);
    const table = await cli(['runs', 'show', String(done)]);
    expect(table.stdout).toContain('{"command":"make test"}');
    expect(table.stdout).toContain('Answer');
  });

  it('lists the pending approvals, and shows them in their run', async () => {
    const { parked } = await twoRuns();
    const json = JSON.parse((await cli(['--json', 'approvals', 'ls'])).stdout) as Record<string, unknown>[];
    expect(json).toEqual([
      expect.objectContaining({
        runId: parked,
        tool: 'bash',
        status: 'pending',
        arguments: { command: 'rm -rf /tmp/x' },
      }),
    ]);
    expect((await cli(['approvals', 'ls'])).stdout).toContain('rm -rf /tmp/x');
    const shown = await cli(['runs', 'show', String(parked)]);
    expect(shown.stdout).toContain('Approvals');
  });

  it('says so for an unknown run, and refuses an id that is not a number', async () => {
    await twoRuns();
    expect(await cli(['runs', 'show', '999'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('There is no run 999'),
    });
    expect((await cli(['runs', 'show', 'abc'])).code).toBe(2);
    expect((await cli(['approvals', 'ls'])).code).toBe(0);
  });
});
