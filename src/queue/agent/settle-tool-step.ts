import type Database from 'better-sqlite3';
import type { SettledToolStatus } from '../../agent/journal';
import type { ToolResult } from '../../agent/ports';
import { prepared } from '../statements';

/** Stores a tool call's result (what the model is given) and how long it ran. */
export function settleToolStep(
  sqlite: Database.Database,
  stepId: number,
  status: SettledToolStatus,
  result: ToolResult,
  now: number,
): void {
  prepared(
    sqlite,
    `UPDATE agent_steps SET status = @status, result = @content, is_error = @isError, exit_code = @exitCode,
       output_path = @outputPath, finished_at = @now,
       duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE max(0, @now - started_at) END
     WHERE id = @id AND kind = 'tool'`,
  ).run({
    id: stepId,
    status,
    content: result.content,
    isError: result.isError ? 1 : 0,
    exitCode: result.exitCode ?? null,
    outputPath: result.outputPath ?? null,
    now,
  });
}
