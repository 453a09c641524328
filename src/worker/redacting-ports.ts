// The agent's ports as the worker hands them to the loop, with secrets taken out on the way. A
// tool's result is redacted before the loop sees it, so the model, the journal and the chat all
// get the same text: a command that prints the env file shows `[redacted]` everywhere at once.
// The journal redacts what it stores besides (the model's text and calls, the results and errors
// the loop writes itself, the answer), so no step row holds a secret whatever its source. The
// loop itself stays pure: redaction is the worker's policy, applied at its ports.

import type { AgentJournal, ModelStepInput, RunOutcome } from '../agent/journal';
import type { ProviderFields, Tool, ToolResult } from '../agent/ports';
import { CAPTION_MAX_CHARS } from '../agent/tools/send-file';
import { redact, redactBytes, REDACTED } from '../shared/redact';

/** What a document's caption says when secrets in it were replaced. */
export const DOCUMENT_REDACTED_NOTE = `Secrets in this file were replaced by ${REDACTED}.`;

/** The result with its text redacted (the same object when there was nothing to take out). */
export function redactResult(result: ToolResult): ToolResult {
  const content = redact(result.content);
  return content === result.content ? result : { ...result, content };
}

/** A thrown error's message redacted in place: the loop turns it into a result the model reads. */
function redactError(err: unknown): unknown {
  if (err instanceof Error) {
    const message = redact(err.message);
    // the same object: an abort's reason is recognised by identity
    if (message !== err.message) err.message = message;
  }
  return err;
}

/** The tools, each returning its result redacted. */
export function redactingTools(tools: readonly Tool[]): Tool[] {
  return tools.map((tool) => ({
    ...tool,
    run: async (args, ctx) => {
      try {
        return redactResult(await tool.run(args, ctx));
      } catch (err) {
        throw redactError(err);
      }
    },
  }));
}

function redactResponse(response: ModelStepInput): ModelStepInput {
  return {
    ...response,
    content: response.content === null ? null : redact(response.content),
    // the JSON text stays valid: a replaced secret never spans a quote or a backslash
    toolCalls: response.toolCalls.map((call) => ({ ...call, arguments: redact(call.arguments) })),
    ...(response.providerFields !== undefined
      ? { providerFields: JSON.parse(redact(JSON.stringify(response.providerFields))) as ProviderFields }
      : {}),
  };
}

function redactOutcome(outcome: RunOutcome): RunOutcome {
  return {
    ...outcome,
    ...(outcome.answer !== undefined ? { answer: redact(outcome.answer) } : {}),
    ...(outcome.error !== undefined ? { error: redact(outcome.error) } : {}),
  };
}

/**
 * The journal, storing everything redacted. A model's call is stored (and so run) with its
 * secrets replaced: the agent is never meant to use the bot's own token or key.
 */
export function redactingJournal(journal: AgentJournal): AgentJournal {
  return {
    begin: (request, now) => journal.begin(request, now),
    recordModel: (runId, response, now) => journal.recordModel(runId, redactResponse(response), now),
    markRunning: (stepId, now) => journal.markRunning(stepId, now),
    settleTool: (stepId, status, result, now) =>
      journal.settleTool(stepId, status, redactResult(result), now),
    approvals: (runId) => journal.approvals(runId),
    askApproval: (ask, now) => journal.askApproval(ask, now),
    expireApproval: (id, now) => journal.expireApproval(id, now),
    park: (runId, now) => journal.park(runId, now),
    suspend: (runId, error, now) => journal.suspend(runId, error === null ? null : redact(error), now),
    finish: (runId, outcome, now) => journal.finish(runId, redactOutcome(outcome), now),
    recordCompaction: (input, now) =>
      journal.recordCompaction(
        { ...input, summary: input.summary === null ? null : redact(input.summary) },
        now,
      ),
  };
}

/**
 * A document as it may be sent: its bytes with secrets replaced, and its caption redacted and,
 * when the file held a secret, saying so (cut to Telegram's caption limit).
 */
export function redactedDocument(
  bytes: Uint8Array,
  caption: string | undefined,
): { readonly bytes: Buffer; readonly caption: string | undefined; readonly redacted: boolean } {
  const document = redactBytes(bytes);
  const text = caption === undefined ? undefined : redact(caption);
  if (!document.redacted) return { bytes: document.bytes, caption: text, redacted: false };
  const room = CAPTION_MAX_CHARS - DOCUMENT_REDACTED_NOTE.length - 2;
  const kept =
    text === undefined || text === ''
      ? ''
      : `${text.length <= room ? text : `${text.slice(0, room - 1)}…`}\n\n`;
  return { bytes: document.bytes, caption: `${kept}${DOCUMENT_REDACTED_NOTE}`, redacted: true };
}
