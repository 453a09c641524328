// What the loop tells the worker as it goes, for the status message and the drafts. Events are
// fire-and-forget: the loop never waits for them, and a throwing listener is the worker's bug.

import type { CompactionKind, RunOpening } from './journal';
import type { ToolResult } from './ports';

/** A tool call as the events show it. */
export interface CallInfo {
  readonly stepId: number;
  readonly toolCallId: string;
  readonly name: string;
  /** Parsed arguments (undefined when they were not valid JSON). */
  readonly args: unknown;
  /** `describeCall`: "read src/app.ts", "bash `npm test`". */
  readonly description: string;
}

/** One thing that happened in a run. */
export type AgentEvent =
  | { readonly type: 'run-start'; readonly runId: number; readonly opening: RunOpening }
  /** A model call begins; `step` counts model calls from 1. */
  | { readonly type: 'model-start'; readonly step: number }
  /** The model's streamed text so far (pass-through of `onText`). */
  | { readonly type: 'text'; readonly step: number; readonly text: string }
  | { readonly type: 'model-end'; readonly step: number; readonly toolCalls: number }
  | { readonly type: 'tool-start'; readonly call: CallInfo }
  | { readonly type: 'tool-progress'; readonly call: CallInfo; readonly text: string }
  /** A call settled: run, interrupted by a restart, denied, or refused (bad arguments). */
  | {
      readonly type: 'tool-end';
      readonly call: CallInfo;
      readonly status: 'done' | 'interrupted' | 'denied';
      readonly result: ToolResult;
      /** How long it ran; 0 when it did not run. */
      readonly durationMs: number;
    }
  | { readonly type: 'approval-asked'; readonly call: CallInfo; readonly approvalId: number }
  /** The session was compacted before a model call (`dropped`: its summary failed, `reason` says why). */
  | {
      readonly type: 'compacted';
      readonly kind: CompactionKind;
      readonly tokensBefore: number;
      readonly tokensAfter: number;
      readonly reason?: string;
    }
  /** Messages of the person were given to the run at a step boundary. */
  | { readonly type: 'steered'; readonly inboxIds: readonly number[] };
