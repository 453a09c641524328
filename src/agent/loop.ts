// The agent loop: ask the model, run the tools it calls, answer. Pure of Telegram, SQLite and
// OpenAI: it gets ports (model, tools, journal, approvals, events, clock, signal), the way
// pi-mono's agentLoop gets its stream function.
//
// Written ahead: a model response is journalled with its tool calls before
// any of them runs, a call is marked running before it runs, and its result is journalled before
// the next model call. So the loop is one function of the journal: whatever instant the worker
// died at, a new runAgent on the same run reads the journal and goes on from there, never asking
// the model again for a response it has.

import {
  callHash,
  changesSinceLastApproval,
  DENIED_RESULT,
  EXPIRED_RESULT,
  needsApproval,
  resolveApproval,
  type ApprovalMode,
  type ChangesSince,
} from './approval-policy';
import { compactionBudget, type CompactionBudget } from './compaction';
import { compactSession } from './compact-session';
import { buildRequest, toolSpecs, toolsTokens, type Request } from './context-builder';
import { describeCall } from './describe-call';
import type { AgentEvent, CallInfo } from './events';
import type {
  AgentJournal,
  ApprovalRecord,
  CompactionRecord,
  JournalRun,
  JournalStep,
  ModelStep,
  RunOutcome,
  RunRequest,
  SettledToolStatus,
  ToolStep,
  UserStep,
} from './journal';
import { limitAnswer, type RunLimit } from './limit-answer';
import {
  INTERRUPTED_RESULT,
  isContextTooLong,
  type ModelPort,
  type ModelRequestOptions,
  type Tool,
  type ToolContext,
  type ToolKind,
  type ToolResult,
  type ToolSpec,
  type Usage,
  type AgentMessage,
} from './ports';
import { isWorkerStopping } from './abort-reasons';
import type { Risk } from './tools/risk';
import { splitThinking } from './thinking';
import { memoizedCount, messageTokens, runEntries, type TranscriptEntry } from './transcript';

/** The run's budgets (AGENT_MAX_STEPS, AGENT_MAX_RUN_SECONDS, AGENT_MAX_RUN_TOKENS). */
export interface AgentLimits {
  /** Model calls. */
  readonly maxSteps: number;
  /** Wall time since the run started, less the time it was parked for approvals. */
  readonly maxRunSeconds: number;
  /**
   * What the run's model calls (its compactions too) may cost, in tokens: prompt tokens not
   * cached, completion tokens, and cached tokens weighed by `cachedWeight`.
   */
  readonly maxRunTokens: number;
  /** What a cached prompt token weighs against an uncached one: its share of the input price. */
  readonly cachedWeight: number;
}

/** How far a run may go unless configured: model steps, wall-clock seconds, tokens. */
export const DEFAULT_LIMITS: AgentLimits = {
  maxSteps: 30,
  maxRunSeconds: 1800,
  maxRunTokens: 2_000_000,
  cachedWeight: 1,
};

/** What the run's token budget counts of its usage. */
export function runCost(usage: Usage, cachedWeight: number): number {
  const cached = Math.min(usage.cachedTokens, usage.promptTokens);
  return usage.promptTokens - cached + cached * cachedWeight + usage.completionTokens;
}

/** A run resumed more than this many times in a row without progress ends. */
export const MAX_STALLED_RESUMES = 2;

/** How the run asks before risky calls (AGENT_APPROVAL, the sandbox, AGENT_APPROVAL_TIMEOUT_SECONDS). */
export interface AgentApprovalSettings {
  readonly mode: ApprovalMode;
  readonly sandboxed: boolean;
  readonly timeoutSeconds: number;
}

/** What the run is about. */
export interface AgentInput {
  /** The run, with the person's message and the session a new run joins. */
  readonly run: RunRequest;
  /** The system prompt with the project's instructions: the stable start of every request. */
  readonly systemPrompt: string;
  /** The model's context window (tokens): the session is compacted to stay under it. */
  readonly contextWindow: number;
  /** Sent with every request of the session (`prompt_cache_key`), when the server takes it. */
  readonly cacheKey?: string;
  readonly limits: AgentLimits;
  readonly approval: AgentApprovalSettings;
  /** Overrides the configured model (`/model`). */
  readonly model?: string;
}

/** A call waiting for a person's decision, as the approval port gets it. */
export interface ApprovalRequest {
  /** The pending approval, already journalled: its id goes in the card's buttons. */
  readonly approval: ApprovalRecord;
  readonly call: CallInfo;
  /** What the call's tool declares: its kind, and the call's risks as the policy saw them. */
  readonly kind: ToolKind;
  readonly risks: readonly Risk[];
  /** The files the run changed before this call and after its last approval (or its start). */
  readonly changed: ChangedFiles;
}

/** Files a run changed, as a card lists them. */
export interface ChangedFiles {
  readonly since: ChangesSince['since'];
  /** Each once, in the order they were first changed. */
  readonly files: readonly string[];
}

/**
 * Shows the person an approval card (and records its message id). The loop parks the run after
 * it returns; the decision comes back through the journal when the worker runs the loop again.
 */
export type ApprovalPort = (request: ApprovalRequest) => Promise<void>;

/** What the loop is given. */
export interface AgentPorts {
  readonly model: ModelPort;
  readonly tools: readonly Tool[];
  readonly journal: AgentJournal;
  /** The tools' context for a run (project folder, run folder, sending files). */
  readonly toolContext: (runId: number) => Omit<ToolContext, 'signal' | 'onProgress'>;
  /** Needed unless the approval mode is `never`; without it a call that needs approval is denied. */
  readonly askApproval?: ApprovalPort;
  readonly emit?: (event: AgentEvent) => void;
  readonly now: () => number;
  /** `/stop` cancels the run; a stopping worker (`isWorkerStopping`) leaves it to resume later. */
  readonly signal?: AbortSignal;
  /**
   * Takes the person's messages that arrived while the run worked and journals them as the run's
   * user steps (`AGENT_BUSY=steer`), at a step boundary: after the calls in flight settled,
   * before the next model call. Absent: messages wait for the next run.
   */
  readonly steer?: (runId: number) => readonly UserStep[];
}

/**
 * How the run ended. `parked`: waiting for an approval (`approvalId`), holding nothing.
 * `interrupted`: the worker is stopping; the run is left to resume on the next start.
 */
export type AgentStatus = 'done' | 'cancelled' | 'limit' | 'failed' | 'parked' | 'interrupted';

/** What runAgent returns. */
export interface AgentResult {
  readonly status: AgentStatus;
  readonly runId: number;
  /** The text for the person: the answer, the limit's account, or why the run failed. */
  readonly answer?: string;
  /** Model calls of the run. */
  readonly steps: number;
  readonly usage: Usage;
  readonly approvalId?: number;
}

/** The answer of a run that resumed too often without getting any further. */
export const STALLED_ANSWER =
  'I stopped: the worker restarted several times in a row during this run without getting any further, so one of its steps may be what stops it. Nothing more was run; the steps so far are in `autonous runs show`.';

/** The answer of a run whose request the model refused as too long even after a compaction. */
export const TOO_LONG_ANSWER =
  'I stopped: the model refused the request as longer than its context window, even after the session was compacted. /compact with what to keep, or /new for a fresh session, lets the work go on.';

const EMPTY_ANSWER = 'The model returned an empty answer.';

/** Ends an answer the model was cut off in (`finish_reason: length`). */
export const CUT_OFF_NOTE =
  '[The answer was cut off here: the model reached its output limit. Ask me to continue and I will go on from here.]';

/** The answer when the model was cut off before it wrote any of its answer (it was still thinking). */
export const CUT_OFF_EMPTY =
  'The model was cut off before it wrote an answer: it reached its output limit while it was still thinking. Ask again, perhaps in smaller steps.';

/** What the model is told for each call of a response that was cut off: none of them ran. */
export const CUT_OFF_CALL_RESULT =
  'not run: the response was cut off (finish_reason length) before its tool calls were complete, so none of them ran. Send them again, with shorter arguments (write a large file in parts).';
const CANCELLED_RESULT = 'cancelled by the person (/stop) while it ran; its outcome is unknown';

/**
 * Runs (or resumes) the agent run of `input.run` until it answers, reaches a limit, parks for an
 * approval, is cancelled or the worker stops. A model error is thrown after the run is
 * suspended (the worker retries the message; the run goes on where it stands); tool errors are
 * results the model sees.
 */
export async function runAgent(input: AgentInput, ports: AgentPorts): Promise<AgentResult> {
  const { journal } = ports;
  const run = journal.begin(input.run, ports.now());
  ports.emit?.({ type: 'run-start', runId: run.id, opening: run.opening });
  const loop = new RunLoop(input, ports, run);
  if (run.opening === 'finished') return loop.result(run.status as AgentStatus, run.answer ?? undefined);
  try {
    return await loop.go();
  } catch (err) {
    loop.suspendQuietly(err);
    throw err;
  }
}

class RunLoop {
  private readonly steps: JournalStep[];
  private readonly tools: ReadonlyMap<string, Tool>;
  private readonly specs: readonly ToolSpec[];
  private readonly signal: AbortSignal;
  private readonly context: Omit<ToolContext, 'signal' | 'onProgress'>;
  private readonly budget: CompactionBudget;
  /** The session's earlier runs as transcript entries (rendered once per attempt). */
  private readonly earlier: readonly TranscriptEntry[];
  private compaction: CompactionRecord | null;
  private compactionUsage: Usage;
  /** What a message of this run costs, each text counted once per attempt. */
  private readonly tokensOf: (message: AgentMessage) => number;
  private ended = false;

  constructor(
    private readonly input: AgentInput,
    private readonly ports: AgentPorts,
    private readonly run: JournalRun,
  ) {
    this.steps = [...run.steps];
    this.tools = new Map(ports.tools.map((t) => [t.name, t]));
    this.specs = toolSpecs(ports.tools);
    this.signal = ports.signal ?? new AbortController().signal;
    this.context = ports.toolContext(run.id);
    this.budget = compactionBudget(input.contextWindow);
    this.earlier = (run.session?.earlier ?? []).flatMap((r) => runEntries(r, false));
    const count = memoizedCount();
    this.tokensOf = (message) => messageTokens(message, count);
    this.compaction = run.session?.compaction ?? null;
    this.compactionUsage = run.compactionUsage;
  }

  async go(): Promise<AgentResult> {
    if (this.run.opening === 'resumed' && this.run.stalledResumes > MAX_STALLED_RESUMES) {
      return this.finish({ status: 'failed', answer: STALLED_ANSWER, error: 'resumed without progress' });
    }
    for (;;) {
      if (this.signal.aborted) return this.aborted();
      const last = this.lastModelStep();
      if (last !== undefined) {
        const open = this.toolStepsOf(last).filter((s) => !isSettled(s));
        if (open.length > 0) {
          const parked = await this.settle(last, open);
          if (this.signal.aborted) return this.aborted();
          if (parked !== undefined) {
            this.ports.journal.park(this.run.id, this.ports.now());
            this.ended = true;
            return this.result('parked', undefined, parked.id);
          }
          continue;
        }
        if (last.toolCalls.length === 0) {
          const empty = last.content === null || splitThinking(last.content).answer.trim() === '';
          if (last.finishReason === 'length') {
            return this.finish({
              status: 'done',
              answer: empty ? CUT_OFF_EMPTY : `${last.content}\n\n${CUT_OFF_NOTE}`,
            });
          }
          // a model that only thought (`<think>…</think>` and nothing after) gave no answer either
          return this.finish({ status: 'done', answer: empty ? EMPTY_ANSWER : last.content! });
        }
      }
      const limit = this.limitReached();
      if (limit !== undefined)
        return this.finish({
          status: 'limit',
          answer: limitAnswer(limit, this.steps, (name, args) =>
            describeCall(this.tools.get(name), name, args),
          ),
        });
      const ask = await this.askModel();
      if (ask === 'aborted') return this.aborted();
      if (ask === 'too-long')
        return this.finish({ status: 'failed', answer: TOO_LONG_ANSWER, error: 'context too long' });
    }
  }

  /**
   * One model call, journalled before anything acts on it. Messages that arrived meanwhile are
   * steered in first; a request past the window's threshold compacts the session first, and one the
   * model refuses as too long compacts it and is asked once more.
   */
  private async askModel(): Promise<'stored' | 'aborted' | 'too-long'> {
    if (this.modelSteps().length > 0) this.takeSteered();
    const step = this.modelSteps().length + 1;
    this.ports.emit?.({ type: 'model-start', step });
    let compacted = false;
    let request = this.request();
    if (request.tokens > this.budget.threshold) {
      const outcome = await this.compact(request);
      if (outcome === 'aborted') return 'aborted';
      compacted = outcome === 'stored';
      request = this.request();
    }
    let response;
    for (;;) {
      try {
        response = await this.ports.model(request.messages, this.specs, this.callOptions(step));
        break;
      } catch (err) {
        if (this.signal.aborted) return 'aborted';
        if (!isContextTooLong(err)) throw err;
        // our estimate fell short of the model's count: compact (once) and ask again
        if (compacted) return 'too-long';
        const outcome = await this.compact(request, true);
        if (outcome === 'aborted') return 'aborted';
        if (outcome === 'nothing') return 'too-long';
        compacted = true;
        request = this.request();
      }
    }
    const stored = this.ports.journal.recordModel(this.run.id, response, this.ports.now());
    this.steps.push(stored.model, ...stored.tools);
    this.ports.emit?.({ type: 'model-end', step, toolCalls: stored.tools.length });
    return 'stored';
  }

  /** What every model call of the run passes: the signal, the model, the cache key. */
  private callOptions(step?: number): ModelRequestOptions {
    return {
      signal: this.signal,
      ...(step !== undefined
        ? { onText: (text: string) => this.ports.emit?.({ type: 'text', step, text }) }
        : {}),
      ...(this.input.model !== undefined ? { model: this.input.model } : {}),
      ...(this.input.cacheKey !== undefined ? { cacheKey: this.input.cacheKey } : {}),
    };
  }

  /** Gives the run the person's messages that arrived since its last model call, journalled. */
  private takeSteered(): void {
    const taken = this.ports.steer?.(this.run.id) ?? [];
    if (taken.length === 0) return;
    this.steps.push(...taken);
    const inboxIds = taken.map((s) => s.inboxId).filter((id): id is number => id !== null);
    this.ports.emit?.({ type: 'steered', inboxIds });
  }

  /** The request of the next model call: the session's prefix and transcript, then this run's. */
  private request(): Request {
    // the message and images as the journal stored them: the next run renders this one the same
    const images = this.run.images ?? this.input.run.images;
    const own = runEntries(
      { id: this.run.id, message: this.run.message, images, answer: null, steps: this.steps },
      true,
      this.tokensOf,
    );
    return buildRequest(
      this.input.systemPrompt,
      this.compaction,
      [...this.earlier, ...own],
      toolsTokens(this.specs),
    );
  }

  /**
   * Compacts the session (`compactSession`) and goes on with its summary. `nothing`: there was
   * nothing to compact. `force`: the model refused the request, which was bigger than it looked,
   * so at most a quarter of it is kept.
   */
  private async compact(request: Request, force = false): Promise<'stored' | 'nothing' | 'aborted'> {
    const session = this.run.session;
    if (session === null) return 'nothing';
    const { keepRecent } = this.budget;
    const outcome = await compactSession({
      sessionId: session.id,
      runId: this.run.id,
      request,
      systemPrompt: this.input.systemPrompt,
      previous: this.compaction,
      budget: this.budget,
      keepTokens: force ? Math.min(keepRecent, Math.floor(sumTokens(request.entries) / 4)) : keepRecent,
      tools: this.specs,
      model: this.ports.model,
      options: this.callOptions(),
      journal: this.ports.journal,
      now: this.ports.now,
      onFailure: 'drop',
    });
    // a run's compaction drops what it cannot summarize, so it never fails
    if (outcome.kind === 'failed' || outcome.kind === 'nothing') return 'nothing';
    if (outcome.kind === 'aborted') return 'aborted';
    const { record, response, failure } = outcome;
    this.compaction = record;
    if (response !== undefined) this.compactionUsage = addUsage(this.compactionUsage, response.usage);
    this.ports.emit?.({
      type: 'compacted',
      kind: record.kind,
      tokensBefore: record.tokensBefore,
      tokensAfter: record.tokensAfter,
      ...(failure !== undefined ? { reason: failure } : {}),
    });
    return 'stored';
  }

  /**
   * Settles the open calls of a response in order: consecutive read-only calls together, the
   * others one at a time. Stops at a call that waits for an approval and returns that approval.
   */
  private async settle(model: ModelStep, open: readonly ToolStep[]): Promise<ApprovalRecord | undefined> {
    if (model.finishReason === 'length') {
      // the arguments of a cut-off response may be cut too (pi-mono refuses them the same way)
      for (const step of open)
        this.store(step, this.callInfo(step), 'done', failure(CUT_OFF_CALL_RESULT, false));
      return undefined;
    }
    const changesInStep = model.toolCalls.filter((c) => this.tools.get(c.name)?.kind === 'change').length;
    let i = 0;
    while (i < open.length) {
      if (this.signal.aborted) return undefined;
      const group: ToolStep[] = [];
      while (i < open.length && this.tools.get(open[i]!.tool)?.kind === 'read') group.push(open[i++]!);
      if (group.length > 0) {
        await Promise.all(group.map((s) => this.settleOne(s, changesInStep)));
        continue;
      }
      const parked = await this.settleOne(open[i++]!, changesInStep);
      if (parked !== undefined) return parked;
    }
    return undefined;
  }

  /** Settles one call: resume policy, approval, run. Returns the approval it waits for, if any. */
  private async settleOne(step: ToolStep, changesInStep: number): Promise<ApprovalRecord | undefined> {
    const tool = this.tools.get(step.tool);
    const parsed = parseArguments(step.arguments);
    const call = this.callInfo(step);
    if (tool === undefined) {
      const known = [...this.tools.keys()].join(', ');
      return this.store(
        step,
        call,
        'done',
        failure(`there is no tool "${step.tool}"; the tools are: ${known}`),
      );
    }
    if (!parsed.ok) {
      return this.store(
        step,
        call,
        'done',
        failure(
          `the arguments of ${step.tool} are not valid JSON (${parsed.error}); nothing was run. Send them again as one JSON object.`,
        ),
      );
    }
    const args = parsed.value;
    const ctx = this.toolContextFor(call);

    if (step.status === 'running') {
      // the worker died while this call ran: its tool's resume policy decides
      if (tool.resume === 'never')
        return this.store(step, call, 'interrupted', failure(INTERRUPTED_RESULT, false));
      if (tool.resume === 'check-applied' && tool.isApplied !== undefined) {
        let applied: boolean;
        try {
          applied = await tool.isApplied(args, ctx);
        } catch (err) {
          return this.store(
            step,
            call,
            'done',
            failure(
              `the worker restarted while ${call.description} ran, and whether it took effect could not be checked (${errorText(err)}); look before doing it again`,
            ),
          );
        }
        if (applied) {
          const note = `${call.description}: done (it had taken effect before the worker restarted)`;
          return this.store(step, call, 'done', { content: note, isError: false });
        }
      }
    }

    const { mode, sandboxed } = this.input.approval;
    if (needsApproval(mode, tool, args, { sandboxed, changesInStep })) {
      const waiting = await this.approval(step, call, tool, args);
      if (waiting !== 'allowed') return waiting;
    }

    this.ports.journal.markRunning(step.id, this.ports.now());
    this.ports.emit?.({ type: 'tool-start', call });
    const started = this.ports.now();
    let result: ToolResult;
    try {
      result = await tool.run(args, ctx);
    } catch (err) {
      if (this.signal.aborted) {
        // a stopping worker leaves the call running: on resume its policy decides, as after a kill
        if (isWorkerStopping(this.signal)) return undefined;
        return this.store(step, call, 'interrupted', failure(CANCELLED_RESULT, false), started);
      }
      result = failure(`${tool.name} failed: ${errorText(err)}`);
    }
    return this.store(step, call, 'done', result, started);
  }

  /**
   * The decision bound to this call: allowed, or settled as denied, or the approval the run parks
   * for (asked now when nothing was asked yet; its card sent again when none was recorded).
   */
  private async approval(
    step: ToolStep,
    call: CallInfo,
    tool: Tool,
    args: unknown,
  ): Promise<'allowed' | ApprovalRecord | undefined> {
    const { journal } = this.ports;
    const hash = callHash(step.tool, args);
    const now = this.ports.now();
    const approvals = journal.approvals(this.run.id);
    const changeSteps = this.changeSteps();
    const verdict = resolveApproval(approvals, step.id, hash, now, changeSteps);
    const request = (approval: ApprovalRecord): ApprovalRequest => {
      const changed = changesSinceLastApproval(approvals, changeSteps, step.id);
      return {
        approval,
        call,
        kind: tool.kind,
        risks: tool.risks(args, { sandboxed: this.input.approval.sandboxed }),
        changed: { since: changed.since, files: this.filesChangedBy(changed.steps) },
      };
    };
    switch (verdict.kind) {
      case 'allow':
        return 'allowed';
      case 'deny':
        if (verdict.expired && verdict.approval.status === 'pending')
          journal.expireApproval(verdict.approval.id, now);
        return this.store(
          step,
          call,
          'denied',
          failure(verdict.expired ? EXPIRED_RESULT : DENIED_RESULT, false),
        );
      case 'wait':
        if (verdict.approval.cardMessageId === null && this.ports.askApproval !== undefined) {
          // asked, but the card was never recorded as sent (a kill in between): show it again
          await this.ports.askApproval(request(verdict.approval));
        }
        return verdict.approval;
      case 'ask': {
        if (this.ports.askApproval === undefined) {
          return this.store(
            step,
            call,
            'denied',
            failure('denied: this call needs approval and nobody can be asked; nothing was run', false),
          );
        }
        const approval = journal.askApproval(
          {
            runId: this.run.id,
            stepId: step.id,
            toolCallId: step.toolCallId,
            tool: step.tool,
            callHash: hash,
            chatId: this.input.run.chatId,
            expiresAt: now + this.input.approval.timeoutSeconds * 1000,
          },
          now,
        );
        this.ports.emit?.({ type: 'approval-asked', call, approvalId: approval.id });
        await this.ports.askApproval(request(approval));
        return approval;
      }
    }
  }

  /**
   * The ids of the run's steps that may have changed files unasked or asked: every step of a
   * `change` tool (unaskedChanges drops those with their own approval), and the steps of `run`
   * tools that needed no approval (a sandboxed command can rewrite the Makefile that an approved
   * `network: true` command then runs; a command that needed one was allowed, once or for the
   * run). Counted when settled after running or left running by a kill (it may have taken
   * effect). A denied call changed nothing; one refused for its arguments counts too (the journal
   * does not tell it apart), which at worst asks once more.
   */
  private changeSteps(): number[] {
    const { mode, sandboxed } = this.input.approval;
    const mayChange = (step: ToolStep): boolean => {
      const tool = this.tools.get(step.tool);
      if (tool?.kind === 'change') return true;
      if (tool?.kind !== 'run') return false;
      const parsed = parseArguments(step.arguments);
      return !needsApproval(mode, tool, parsed.ok ? parsed.value : undefined, { sandboxed });
    };
    return this.steps
      .filter((s): s is ToolStep => s.kind === 'tool' && mayChange(s))
      .filter((s) => s.status === 'done' || s.status === 'interrupted' || s.status === 'running')
      .map((s) => s.id);
  }

  /** The files the given change steps wrote, each once, as their tools name them. */
  private filesChangedBy(stepIds: readonly number[]): string[] {
    const files = new Set<string>();
    for (const id of stepIds) {
      const step = this.steps.find((s): s is ToolStep => s.kind === 'tool' && s.id === id);
      if (step === undefined) continue;
      const tool = this.tools.get(step.tool);
      const parsed = parseArguments(step.arguments);
      const args = parsed.ok ? parsed.value : undefined;
      // a tool that does not say which files it writes is named by its description
      for (const file of tool?.changes?.(args) ?? [describeCall(tool, step.tool, args)]) files.add(file);
    }
    return [...files];
  }

  /** Journals a call's result and tells the listener. Returns undefined (nothing to wait for). */
  private store(
    step: ToolStep,
    call: CallInfo,
    status: SettledToolStatus,
    result: ToolResult,
    startedAt?: number,
  ): undefined {
    const now = this.ports.now();
    this.ports.journal.settleTool(step.id, status, result, now);
    const index = this.steps.findIndex((s) => s.kind === 'tool' && s.id === step.id);
    this.steps[index] = { ...step, status, result };
    const durationMs = startedAt === undefined ? 0 : now - startedAt;
    this.ports.emit?.({ type: 'tool-end', call, status, result, durationMs });
    return undefined;
  }

  /** A call as the events and the approval card describe it. */
  private callInfo(step: ToolStep): CallInfo {
    const parsed = parseArguments(step.arguments);
    const args = parsed.ok ? parsed.value : undefined;
    return {
      stepId: step.id,
      toolCallId: step.toolCallId,
      name: step.tool,
      args,
      description: describeCall(this.tools.get(step.tool), step.tool, args),
    };
  }

  private toolContextFor(call: CallInfo): ToolContext {
    return {
      ...this.context,
      signal: this.signal,
      onProgress: (text) => this.ports.emit?.({ type: 'tool-progress', call, text }),
    };
  }

  private limitReached(): RunLimit | undefined {
    const { limits } = this.input;
    if (this.modelSteps().length >= limits.maxSteps) return { kind: 'steps', max: limits.maxSteps };
    if (runCost(this.usage(), limits.cachedWeight) >= limits.maxRunTokens) {
      return { kind: 'tokens', max: limits.maxRunTokens };
    }
    const elapsed = this.ports.now() - this.run.startedAt - this.run.parkedMs;
    if (elapsed >= limits.maxRunSeconds * 1000) return { kind: 'seconds', max: limits.maxRunSeconds };
    return undefined;
  }

  /** `/stop` cancels the run; a stopping worker leaves it to resume. */
  private aborted(): AgentResult {
    if (isWorkerStopping(this.signal)) {
      this.ports.journal.suspend(this.run.id, 'the worker stopped during the run', this.ports.now());
      this.ended = true;
      return this.result('interrupted');
    }
    return this.finish({ status: 'cancelled', error: 'cancelled by the person' });
  }

  private finish(outcome: RunOutcome): AgentResult {
    this.ports.journal.finish(this.run.id, outcome, this.ports.now());
    this.ended = true;
    return this.result(outcome.status, outcome.answer);
  }

  /** After a thrown error: leaves the run to be continued when the worker tries again. */
  suspendQuietly(err: unknown): void {
    if (this.ended) return;
    try {
      this.ports.journal.suspend(this.run.id, errorText(err), this.ports.now());
    } catch {
      // the journal itself failed; the run is then found running and resumed like after a kill
    }
  }

  result(status: AgentStatus, answer?: string, approvalId?: number): AgentResult {
    return {
      status,
      runId: this.run.id,
      ...(answer !== undefined ? { answer } : {}),
      steps: this.modelSteps().length,
      usage: this.usage(),
      ...(approvalId !== undefined ? { approvalId } : {}),
    };
  }

  private modelSteps(): ModelStep[] {
    return this.steps.filter((s): s is ModelStep => s.kind === 'model');
  }

  private lastModelStep(): ModelStep | undefined {
    return this.modelSteps().at(-1);
  }

  private toolStepsOf(model: ModelStep): ToolStep[] {
    return this.steps.filter((s): s is ToolStep => s.kind === 'tool' && s.parentId === model.id);
  }

  /** The run's model calls and compactions, summed. */
  private usage(): Usage {
    return this.modelSteps().reduce((sum, step) => addUsage(sum, step.usage), this.compactionUsage);
  }
}

function addUsage(a: Usage, b: Usage): Usage {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    cachedTokens: a.cachedTokens + b.cachedTokens,
  };
}

function isSettled(step: ToolStep): boolean {
  return step.status !== 'pending' && step.status !== 'running';
}

type Parsed = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/** The call's arguments; an empty text is no arguments (some servers send "" for `{}`). */
function parseArguments(text: string): Parsed {
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: errorText(err) };
  }
}

/** An error result; `prefix` adds "error: " so the model cannot take it for output. */
function failure(text: string, prefix = true): ToolResult {
  return { content: prefix ? `error: ${text}` : text, isError: true };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sumTokens(entries: readonly TranscriptEntry[]): number {
  return entries.reduce((n, e) => n + e.tokens, 0);
}
