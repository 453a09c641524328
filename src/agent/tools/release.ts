// `release {}`: asks for a release of project self, autonous's own code. The tool itself decides
// nothing: the worker builds and checks the project in the sandbox and sends the person a card
// with Release / Cancel, so a release always waits for an approver, whatever AGENT_APPROVAL says.
import type { Tool, ToolContext, ToolResult } from '../ports';
import { noRisks } from './risk';
import { failure, success } from './args';

async function run(_args: unknown, ctx: ToolContext): Promise<ToolResult> {
  if (ctx.release === undefined) {
    return failure('release is not available here: it releases project self, with AGENT_SELF=on.');
  }
  const outcome = await ctx.release();
  return outcome.ok ? success(outcome.text) : failure(outcome.text);
}

/** The `release` tool, offered only when AGENT_SELF=on. */
export const releaseTool: Tool = {
  name: 'release',
  description:
    "Release project self (autonous's own code) once your change is committed: the worker builds it and runs the checks in the sandbox, then asks an approver with a card (Release / Cancel). The result says whether the card was sent, or why not (refused before anything ran, or the checks failed, with their output).",
  parameters: { type: 'object', properties: {}, additionalProperties: false },
  kind: 'run',
  // a release asked for twice would build twice and send a second card
  resume: 'never',
  describe: () => 'release project self',
  risks: noRisks,
  run,
};
