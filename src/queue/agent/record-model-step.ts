import type Database from 'better-sqlite3';
import type { ModelStep, ModelStepInput, ToolStep } from '../../agent/journal';
import { prepared } from '../statements';

/**
 * Stores a model response and one pending row per tool call, and adds its usage to the run, in
 * one transaction: write-ahead, so no tool of it runs before the whole response is on disk.
 */
export function recordModelStep(
  sqlite: Database.Database,
  runId: number,
  response: ModelStepInput,
  now: number,
): { model: ModelStep; tools: ToolStep[] } {
  return sqlite
    .transaction(() => {
      const { next } = prepared(
        sqlite,
        'SELECT coalesce(max(seq), 0) + 1 AS next FROM agent_steps WHERE run_id = ?',
      ).get(runId) as { next: number };
      const calls = response.toolCalls.map((c) => ({
        id: c.id,
        name: c.name,
        arguments: c.arguments,
        ...(c.extra !== undefined ? { extra: c.extra } : {}),
      }));
      const { id } = prepared(
        sqlite,
        `INSERT INTO agent_steps (run_id, seq, kind, content, tool_calls, model, finish_reason, provider_fields,
           reasoning_tokens, prompt_tokens, completion_tokens, cached_tokens, created_at)
         VALUES (@runId, @seq, 'model', @content, @toolCalls, @model, @finishReason, @providerFields,
           @reasoningTokens, @promptTokens, @completionTokens, @cachedTokens, @now)
         RETURNING id`,
      ).get({
        runId,
        seq: next,
        content: response.content,
        toolCalls: JSON.stringify(calls),
        model: response.model,
        finishReason: response.finishReason,
        providerFields:
          response.providerFields === undefined ? null : JSON.stringify(response.providerFields),
        reasoningTokens: response.reasoningTokens ?? null,
        promptTokens: response.usage.promptTokens,
        completionTokens: response.usage.completionTokens,
        cachedTokens: response.usage.cachedTokens,
        now,
      }) as { id: number };
      const insertTool = prepared(
        sqlite,
        `INSERT INTO agent_steps (run_id, seq, kind, parent_id, tool_call_id, tool, arguments, status, created_at)
         VALUES (?, ?, 'tool', ?, ?, ?, ?, 'pending', ?) RETURNING id`,
      );
      const tools: ToolStep[] = calls.map((call, i) => {
        const seq = next + 1 + i;
        const row = insertTool.get(runId, seq, id, call.id, call.name, call.arguments, now) as { id: number };
        return {
          kind: 'tool',
          id: row.id,
          seq,
          parentId: id,
          toolCallId: call.id,
          tool: call.name,
          arguments: call.arguments,
          status: 'pending',
        };
      });
      prepared(
        sqlite,
        `UPDATE agent_runs SET steps = steps + 1, prompt_tokens = prompt_tokens + ?,
           completion_tokens = completion_tokens + ?, cached_tokens = cached_tokens + ? WHERE id = ?`,
      ).run(response.usage.promptTokens, response.usage.completionTokens, response.usage.cachedTokens, runId);
      const model: ModelStep = {
        kind: 'model',
        id,
        seq: next,
        content: response.content,
        toolCalls: calls,
        usage: response.usage,
        model: response.model,
        finishReason: response.finishReason,
        ...(response.providerFields !== undefined ? { providerFields: response.providerFields } : {}),
        ...(response.reasoningTokens !== undefined ? { reasoningTokens: response.reasoningTokens } : {}),
      };
      return { model, tools };
    })
    .immediate();
}
