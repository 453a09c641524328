/**
 * What the agent loop tests share: a scripted model (an injected function, as in pi-mono's
 * agent-loop tests), small fake tools, a journal (real SQLite on a temp file, or in memory) and a
 * "kill" that stops a run at a chosen instant the way SIGKILL would: the journal accepts nothing
 * after it, so what is on disk is exactly what was written before.
 */
import { decideApproval } from '../../src/queue/agent/decide-approval';
import { setApprovalCard } from '../../src/queue/agent/set-approval-card';
import { createSqliteJournal } from '../../src/queue/agent/sqlite-journal';
import { storeBatch } from '../../src/queue/enqueue';
import type { ApprovalDecision } from '../../src/agent/approval-policy';
import type { AgentJournal } from '../../src/agent/journal';
import { DEFAULT_LIMITS, type AgentInput, type AgentPorts } from '../../src/agent/loop';
import { describeByPath } from '../../src/agent/describe-call';
import type {
  AgentMessage,
  ModelPort,
  ModelResponse,
  ResumePolicy,
  Tool,
  ToolContext,
  ToolKind,
  ToolResult,
  ToolSpec,
} from '../../src/agent/ports';
import { createTools } from '../../src/agent/tools';
import { noRisks } from '../../src/agent/tools/risk';
import { decideSandbox } from '../../src/workspace/sandbox';
import { memoryJournal, type MemoryJournal } from './memory-journal';
import { openTempDb, removeTempDir, type TempDb } from './temp-db';

/** Thrown where a test kills the "worker". */
export class Killed extends Error {
  constructor() {
    super('killed');
  }
}

/** One model call as the scripted model saw it. */
export interface ModelCall {
  readonly messages: readonly AgentMessage[];
  readonly tools: readonly ToolSpec[];
}

/** A scripted reply: a response, or a function of the call (it may throw or wait). */
export type Scripted =
  ModelResponse | ((call: ModelCall, signal?: AbortSignal) => Promise<ModelResponse> | ModelResponse);

/** A model that answers from a script, in order, and records every call. */
export interface ScriptedModel {
  readonly port: ModelPort;
  readonly calls: ModelCall[];
}

/** The model port over a script; a call beyond the script fails the test. */
export function scriptedModel(script: Scripted[]): ScriptedModel {
  const calls: ModelCall[] = [];
  const port: ModelPort = async (messages, tools, options) => {
    const call = { messages: [...messages], tools: [...tools] };
    calls.push(call);
    const next = script.shift();
    if (next === undefined) throw new Error(`the model was asked more than scripted (call ${calls.length})`);
    return typeof next === 'function' ? next(call, options?.signal) : next;
  };
  return { port, calls };
}

let callCounter = 0;

/** A response with tool calls; arguments given as objects are JSON-encoded, strings kept raw. */
export function callTools(...calls: (readonly [string, unknown])[]): ModelResponse {
  return {
    content: null,
    toolCalls: calls.map(([name, args]) => ({
      id: `call_${++callCounter}`,
      name,
      arguments: typeof args === 'string' ? args : JSON.stringify(args),
    })),
    usage: { promptTokens: 100, completionTokens: 10, cachedTokens: 0 },
    model: 'scripted',
    finishReason: 'tool_calls',
  };
}

/** A plain answer. */
export function answer(
  text: string,
  usage = { promptTokens: 100, completionTokens: 10, cachedTokens: 0 },
): ModelResponse {
  return { content: text, toolCalls: [], usage, model: 'scripted', finishReason: 'stop' };
}

/** A fake tool and how often it ran. */
export interface FakeTool extends Tool {
  readonly runs: unknown[];
}

/** The real tools: a fake named like one declares the same facts, so the loop treats it alike. */
const REAL_TOOLS: ReadonlyMap<string, Tool> = new Map(
  createTools({ sandbox: decideSandbox('off', null) }).map((t) => [t.name, t]),
);

/**
 * A fake tool that runs `run` and records each call's arguments. Its kind, description, risks
 * and changed files are the real tool's of the same name (a fake `bash` asks without the
 * sandbox, a fake `write` is a file change); another name is a `run` with no risk of its own,
 * described by its path; `readOnly` makes it a `read`.
 */
export function fakeTool(options: {
  name: string;
  readOnly?: boolean;
  kind?: ToolKind;
  resume?: ResumePolicy;
  run: (args: unknown, ctx: ToolContext) => Promise<ToolResult> | ToolResult;
  isApplied?: (args: unknown) => boolean;
}): FakeTool {
  const runs: unknown[] = [];
  const real = REAL_TOOLS.get(options.name);
  const kind = options.kind ?? (options.readOnly === true ? 'read' : (real?.kind ?? 'run'));
  const tool: FakeTool = {
    name: options.name,
    description: `the fake ${options.name}`,
    parameters: { type: 'object' },
    kind,
    resume: options.resume ?? (kind === 'read' ? 'rerun' : 'never'),
    describe: real?.describe ?? ((args) => describeByPath(options.name, args)),
    risks: real?.risks ?? noRisks,
    ...(real?.changes !== undefined ? { changes: real.changes } : {}),
    runs,
    run: async (args, ctx) => {
      runs.push(args);
      return options.run(args, ctx);
    },
    ...(options.isApplied !== undefined
      ? { isApplied: async (args: unknown) => options.isApplied!(args) }
      : {}),
  };
  return tool;
}

/** A journal under test, whichever kind, with a way to decide its approvals. */
export interface TestJournal {
  readonly kind: 'memory' | 'sqlite';
  readonly journal: AgentJournal;
  /** A new inbox item's id (a real inbox row for SQLite). */
  newInboxId(): number;
  decide(approvalId: number, decision: ApprovalDecision, now: number): void;
  /** Records a card's message id, as the worker's approval port does once the card is sent. */
  setCard(approvalId: number, messageId: number): void;
  close(): void;
  readonly db?: TempDb;
}

/** A journal of the given kind, empty. */
export function testJournal(kind: 'memory' | 'sqlite'): TestJournal {
  if (kind === 'memory') {
    const journal: MemoryJournal = memoryJournal();
    let inbox = 0;
    return {
      kind,
      journal,
      newInboxId: () => ++inbox,
      decide: (id, decision, now) =>
        journal.decide(
          id,
          decision === 'deny' ? 'denied' : 'allowed',
          decision === 'deny' ? null : decision === 'allow-run' ? 'run' : 'once',
          now,
        ),
      setCard: (id, messageId) => journal.setCard(id, messageId),
      close: () => undefined,
    };
  }
  const db = openTempDb();
  let update = 0;
  return {
    kind,
    db,
    journal: createSqliteJournal(db.sqlite),
    newInboxId: () => {
      update++;
      storeBatch(
        db.sqlite,
        [
          {
            updateId: update,
            chatId: 42,
            messageId: update,
            kind: 'text',
            text: `request ${update}`,
            sentAt: 0,
            status: 'queued',
          },
        ],
        update + 1,
        0,
      );
      return (db.sqlite.prepare('SELECT id FROM inbox WHERE update_id = ?').get(update) as { id: number }).id;
    },
    decide: (approvalId, decision, now) => {
      const result = decideApproval(db.sqlite, { approvalId, decision, decidedBy: 7, now });
      if (result.outcome !== 'decided') throw new Error(`decision not applied: ${result.outcome}`);
    },
    setCard: (approvalId, messageId) => setApprovalCard(db.sqlite, approvalId, messageId),
    close: () => {
      db.close();
      removeTempDir(db.dir);
    },
  };
}

/** A journal that dies at `kill()`: every call after it throws, as if the process were gone. */
export interface KillableJournal extends AgentJournal {
  kill(): never;
  /** Kills right after the named operation succeeds, the n-th time (1 = first). */
  killAfter(operation: keyof AgentJournal, nth?: number): void;
}

/** Wraps a journal so that a test can kill the "worker" at any instant. */
export function killable(inner: AgentJournal): KillableJournal {
  let dead = false;
  let trigger: { operation: string; remaining: number } | undefined;
  const kill = (): never => {
    dead = true;
    throw new Killed();
  };
  const wrap =
    <K extends keyof AgentJournal>(operation: K) =>
    (...args: unknown[]): unknown => {
      if (dead) throw new Killed();
      const result = (inner[operation] as (...a: unknown[]) => unknown)(...args);
      if (trigger?.operation === operation && --trigger.remaining === 0) kill();
      return result;
    };
  const operations: (keyof AgentJournal)[] = [
    'begin',
    'recordModel',
    'markRunning',
    'settleTool',
    'approvals',
    'askApproval',
    'expireApproval',
    'park',
    'suspend',
    'finish',
  ];
  const journal = Object.fromEntries(operations.map((op) => [op, wrap(op)])) as unknown as AgentJournal;
  return Object.assign(journal, {
    kill,
    killAfter: (operation: keyof AgentJournal, nth = 1) => {
      trigger = { operation, remaining: nth };
    },
  });
}

/** A test clock: `now()` and a way to move it. */
export interface TestClock {
  now(): number;
  advance(ms: number): void;
}

/** A clock starting at a fixed time. */
export function testClock(start = 1_800_000_000_000): TestClock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** The input of a run of inbox item `inboxId`, with the defaults and `never` approvals. */
export function runInput(inboxId: number, overrides: Partial<AgentInput> = {}): AgentInput {
  return {
    run: { inboxId, chatId: 42, project: 'default', message: 'do the thing' },
    systemPrompt: 'You are a test.',
    contextWindow: 128_000,
    limits: DEFAULT_LIMITS,
    approval: { mode: 'never', sandboxed: true, timeoutSeconds: 1800 },
    ...overrides,
  };
}

/** Ports over a model, tools and a journal, with a test clock and no workspace. */
export function runPorts(
  model: ScriptedModel,
  tools: readonly Tool[],
  journal: AgentJournal,
  clock: TestClock,
  extra: Partial<AgentPorts> = {},
): AgentPorts {
  return {
    model: model.port,
    tools,
    journal,
    toolContext: (runId) => ({
      root: '/nonexistent/project',
      runDir: `/nonexistent/runs/${runId}`,
      sendFile: async () => undefined,
    }),
    now: clock.now,
    ...extra,
  };
}

/** The tool messages the model was given in a call, by tool call id. */
export function toolMessages(call: ModelCall): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of call.messages) if (m.role === 'tool') out.set(m.toolCallId, m.content);
  return out;
}
