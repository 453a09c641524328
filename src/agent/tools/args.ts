// Argument checks and results shared by the tools: a bad argument or a failed file operation is
// a result the model reads and can correct, never an exception that would fail the run.
import type { ToolContext, ToolResult } from '../ports';

/** An argument the model sent does not fit the tool's schema; the message says which and how. */
export class ArgumentError extends Error {}

/** A failed call as the model sees it. */
export function failure(message: string): ToolResult {
  return { content: message, isError: true };
}

/** A successful call as the model sees it. */
export function success(content: string): ToolResult {
  return { content, isError: false };
}

/** The arguments as an object (the model may send anything). */
export function argsObject(args: unknown): Readonly<Record<string, unknown>> {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new ArgumentError('The arguments must be a JSON object.');
  }
  return args as Record<string, unknown>;
}

/** A required string argument. */
export function requiredString(args: Readonly<Record<string, unknown>>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string')
    throw new ArgumentError(`The argument ${name} is required and must be a string.`);
  return value;
}

/** An optional string argument. */
export function optionalString(args: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = args[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ArgumentError(`The argument ${name} must be a string.`);
  return value;
}

/** An optional whole number of at least `min`. */
export function optionalInteger(
  args: Readonly<Record<string, unknown>>,
  name: string,
  min: number,
): number | undefined {
  const value = args[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ArgumentError(`The argument ${name} must be a whole number of at least ${min}.`);
  }
  return value;
}

/** An optional positive number. */
export function optionalPositive(args: Readonly<Record<string, unknown>>, name: string): number | undefined {
  const value = args[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ArgumentError(`The argument ${name} must be a number above 0.`);
  }
  return value;
}

/** An optional boolean. */
export function optionalBoolean(args: Readonly<Record<string, unknown>>, name: string): boolean | undefined {
  const value = args[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new ArgumentError(`The argument ${name} must be true or false.`);
  return value;
}

/** The sentence for a failed file operation, by its errno code. */
export function fsFailure(what: string, err: unknown): ToolResult {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return failure(`${what} does not exist.`);
    case 'EISDIR':
      return failure(`${what} is a folder, not a file.`);
    case 'ENOTDIR':
      return failure(`${what}: a part of the path is a file, not a folder.`);
    case 'EACCES':
    case 'EPERM':
      return failure(`${what}: permission denied.`);
    default:
      return failure(`${what}: ${(err as Error).message}`);
  }
}

/**
 * Runs a tool's body: an abort of the run propagates (the loop ends the run `cancelled`), an
 * argument error or any other failure becomes an error result.
 */
export async function guarded(ctx: ToolContext, body: () => Promise<ToolResult>): Promise<ToolResult> {
  ctx.signal.throwIfAborted();
  try {
    return await body();
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (err instanceof ArgumentError) return failure(err.message);
    return failure(`The tool failed: ${(err as Error).message}`);
  }
}

/** The file a one-file change (`write`, `edit`) writes: its `path` argument, when it has one. */
export function pathChanged(args: unknown): readonly string[] {
  const value =
    typeof args === 'object' && args !== null ? (args as Record<string, unknown>).path : undefined;
  return typeof value === 'string' ? [value] : [];
}
