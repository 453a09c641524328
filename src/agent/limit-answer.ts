// The answer of a run stopped at a limit, composed from its journal rather than asked of the
// model: a last model call would spend the very budget that ran out (a 31st call, more tokens,
// more time), and a composed text cannot fail. Pure.

import { cut } from '../shared/cut';
import { parseJsonOr } from '../shared/parse-json';
import type { JournalStep, ModelStep, ToolStep } from './journal';
import { splitThinking } from './thinking';

/** Which limit stopped the run, with its configured value. */
export type RunLimit =
  | { readonly kind: 'steps'; readonly max: number }
  | { readonly kind: 'seconds'; readonly max: number }
  | { readonly kind: 'tokens'; readonly max: number };

/** How many done calls the answer lists one by one; earlier ones are counted. */
const LISTED_CALLS = 12;
const LAST_WORDS_CHARS = 600;

/** The limit's sentence, naming the variable that raises it. */
export function limitSentence(limit: RunLimit): string {
  switch (limit.kind) {
    case 'steps':
      return `its limit of ${limit.max} model calls (AGENT_MAX_STEPS)`;
    case 'seconds':
      return `its time limit of ${limit.max} s (AGENT_MAX_RUN_SECONDS)`;
    case 'tokens':
      return `its limit of ${limit.max} tokens (AGENT_MAX_RUN_TOKENS)`;
  }
}

/** A tool call in a few words, as its tool describes it (`describeCall`). */
export type DescribeCall = (tool: string, args: unknown) => string;

/** "I stopped at ...; what I did: ...; what is left: ..." from the run's steps. */
export function limitAnswer(limit: RunLimit, steps: readonly JournalStep[], describe: DescribeCall): string {
  const tools = steps.filter((s): s is ToolStep => s.kind === 'tool' && s.result !== undefined);
  const models = steps.filter((s): s is ModelStep => s.kind === 'model');
  const lines = [`I stopped before finishing: the run reached ${limitSentence(limit)}.`];
  if (tools.length === 0) lines.push('', 'I had not run any tool yet.');
  else {
    lines.push('', `What I did (${tools.length} tool ${tools.length === 1 ? 'call' : 'calls'}):`);
    const skipped = tools.length - LISTED_CALLS;
    if (skipped > 0) lines.push(`- … ${skipped} earlier ${skipped === 1 ? 'call' : 'calls'}`);
    for (const step of tools.slice(-LISTED_CALLS)) lines.push(`- ${describeStep(step, describe)}`);
  }
  const lastWords = models
    .map((m) => splitThinking(m.content ?? '').answer.trim())
    .filter((c) => c !== '')
    .at(-1);
  lines.push('', 'What is left: the request is not finished.');
  if (lastWords !== undefined) lines.push(`Where I was: ${cut(lastWords, LAST_WORDS_CHARS)}`);
  lines.push('Ask me to continue and I will pick it up from here.');
  return lines.join('\n');
}

function describeStep(step: ToolStep, describe: DescribeCall): string {
  const what = describe(step.tool, parseJsonOr(step.arguments, undefined));
  const result = step.result;
  if (step.status === 'denied') return `${what} (denied)`;
  if (step.status === 'interrupted') return `${what} (interrupted)`;
  if (result?.exitCode !== undefined) return `${what} (exit ${result.exitCode})`;
  return result?.isError === true ? `${what} (failed)` : what;
}
