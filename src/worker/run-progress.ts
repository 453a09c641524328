// What a run's status message says: one line per tool call ("→ read src/app.ts", "→ bash
// `npm test` (running 12 s)", "✓ bash `npm test` exit 0") under a head line, from the loop's
// events. Pure: time comes in; the worker sends the text (status-message.ts).

import type { AgentEvent } from '../agent/events';
import type { JournalStep } from '../agent/journal';
import type { Tool, ToolResult } from '../agent/ports';
import { describeCall } from '../agent/describe-call';
import { escapeHidden } from '../shared/escape-text';
import { parseJsonOr } from '../shared/parse-json';
import { redact } from '../shared/redact';
import { seconds } from '../shared/seconds';
import { TELEGRAM_TEXT_LIMIT } from './split';

/** How the run ended, as the head line says it. */
export type ProgressEnd = 'done' | 'limit' | 'failed' | 'cancelled' | 'parked' | 'interrupted';

// The newest calls shown; older ones are counted in one line
const MAX_LINES = 15;

/** The calls of one run and their state, rendered as the status message. */
export class RunProgress {
  private readonly lines = new Map<number, string>();
  private step = 0;
  private end: ProgressEnd | null = null;

  constructor(private readonly startedAt: number) {}

  /** Whether a tool was called (only such runs get a status message). */
  get hasCalls(): boolean {
    return this.lines.size > 0;
  }

  /** The calls already settled in the journal (a resumed run), so the message keeps them. */
  seed(steps: readonly JournalStep[], tools: readonly Tool[]): void {
    for (const s of steps) {
      if (s.kind === 'model') {
        this.step++;
        continue;
      }
      if (s.kind === 'user') continue;
      const args = parseJsonOr(s.arguments, undefined);
      const description = describeCall(
        tools.find((t) => t.name === s.tool),
        s.tool,
        args,
      );
      if (s.result !== undefined) this.lines.set(s.id, settledLine(description, s.tool, s.status, s.result));
    }
  }

  /** Takes one event of the loop; returns whether the text may have changed. */
  apply(event: AgentEvent): boolean {
    switch (event.type) {
      case 'model-start':
        this.step = event.step;
        return this.hasCalls;
      case 'tool-start':
        this.lines.set(event.call.stepId, `→ ${event.call.description}`);
        return true;
      case 'tool-progress':
        this.lines.set(event.call.stepId, `→ ${event.call.description} (${event.text})`);
        return true;
      case 'tool-end':
        this.lines.set(
          event.call.stepId,
          settledLine(event.call.description, event.call.name, event.status, event.result),
        );
        return true;
      case 'approval-asked':
        this.lines.set(event.call.stepId, `⏸ ${event.call.description}: waiting for approval`);
        return true;
      default:
        return false;
    }
  }

  /** The run ended this way: the head line says so. */
  finish(end: ProgressEnd): void {
    this.end = end;
  }

  /** The status text at `now`. */
  render(now: number): string {
    const elapsed = seconds(now - this.startedAt);
    const steps = `${this.step} step${this.step === 1 ? '' : 's'}`;
    const head =
      this.end === null ? `Working… step ${this.step}, ${elapsed}` : headLine(this.end, steps, elapsed);
    const all = [...this.lines.values()];
    const shown = all.slice(-MAX_LINES);
    const body = all.length > shown.length ? [`… ${all.length - shown.length} earlier`, ...shown] : shown;
    // the lines show commands and paths the model wrote: no secret, no hidden character as it is
    const text = escapeHidden(redact([head, ...body].join('\n')));
    return text.length <= TELEGRAM_TEXT_LIMIT ? text : `${text.slice(0, TELEGRAM_TEXT_LIMIT - 1)}…`;
  }
}

function headLine(end: ProgressEnd, steps: string, elapsed: string): string {
  switch (end) {
    case 'done':
      return `Done: ${steps}, ${elapsed}`;
    case 'limit':
      return `Stopped at a limit: ${steps}, ${elapsed}`;
    case 'failed':
      return `Failed after ${steps}, ${elapsed}`;
    case 'cancelled':
      return `Cancelled (/stop) after ${steps}, ${elapsed}`;
    case 'parked':
      return `Waiting for your approval: ${steps}, ${elapsed}`;
    case 'interrupted':
      return `Paused: the worker is restarting (${steps}, ${elapsed})`;
  }
}

function settledLine(description: string, tool: string, status: string, result: ToolResult): string {
  if (status === 'interrupted') return `⚠ ${description}: interrupted`;
  if (status === 'denied') return `✗ ${description}: denied`;
  const exit = tool === 'bash' && result.exitCode !== undefined ? ` exit ${result.exitCode}` : '';
  return `${result.isError ? '✗' : '✓'} ${description}${exit}`;
}
