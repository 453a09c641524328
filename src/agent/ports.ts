// The agent's ports: what the pure agent loop is given. Nothing here knows Telegram, SQLite or
// OpenAI; the worker's adapters implement these (as pi-mono's agentLoop gets its stream function).

import type { Risk, RiskContext } from './tools/risk';

/** JSON Schema of a tool's arguments, as chat-completions `tools[].function.parameters` takes it. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** A tool call as the model sent it: `arguments` is the raw JSON text, not yet parsed. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
  /**
   * What the provider sent beside the call and wants back with it (Gemini's `extra_content` with
   * its thought signature), by wire name.
   */
  readonly extra?: ProviderFields;
}

/** Token usage of one model response (chat-completions `usage`). */
export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** `prompt_tokens_details.cached_tokens`; 0 when the API did not say. */
  readonly cachedTokens: number;
}

/**
 * An image the person sent, saved in the project. The journal keeps its path and type only; the
 * worker reads the bytes just before a request to a model that sees images and sets `url`.
 */
export interface ImageRef {
  /** Where it is saved, relative to the project folder (`uploads/2026-12-06-photo.jpg`). */
  readonly path: string;
  /** `image/jpeg`, `image/png`, ... */
  readonly mimeType: string;
  /** Set by the worker just before the request: the bytes as a `data:` URL. */
  readonly url?: string;
}

/** A message of the person; the text always names any images' paths, so it stands without them. */
export interface UserMessage {
  readonly role: 'user';
  readonly content: string;
  /** Images sent with it: they stay in the session's requests until a compaction summarizes them. */
  readonly images?: readonly ImageRef[];
}

/** One message of the conversation the model sees (chat-completions shape). */
export type AgentMessage =
  | { readonly role: 'system'; readonly content: string }
  | UserMessage
  | {
      readonly role: 'assistant';
      readonly content: string | null;
      readonly toolCalls?: readonly ToolCall[];
      /** What the provider sent beside them and wants back (see `ModelResponse.providerFields`). */
      readonly providerFields?: ProviderFields;
    }
  | { readonly role: 'tool'; readonly toolCallId: string; readonly content: string };

/** What the model answered: text, tool calls, or both. */
export interface ModelResponse {
  readonly content: string | null;
  readonly toolCalls: readonly ToolCall[];
  readonly usage: Usage;
  /** The model that answered, as the API named it. */
  readonly model: string;
  /** `stop`, `tool_calls`, `length`, ... */
  readonly finishReason: string;
  /**
   * Fields of the assistant's message beside its content and tool calls that the provider wants
   * back with it (`reasoning_content`, `reasoning`, `reasoning_details`), as it sent them: kept in
   * the journal, sent again with the turn, never shown as the answer.
   */
  readonly providerFields?: ProviderFields;
  /** `completion_tokens_details.reasoning_tokens`, when the provider said. */
  readonly reasoningTokens?: number;
}

/** Provider-specific fields of an assistant message, by their wire names. */
export type ProviderFields = Readonly<Record<string, unknown>>;

/** A tool as offered to the model. */
export interface ToolSpec {
  readonly name: string;
  readonly description: string;
  readonly parameters: JsonSchema;
}

/** Options of one model call. */
export interface ModelRequestOptions {
  readonly signal?: AbortSignal;
  /** Called with the whole text so far each time streamed content grows. */
  readonly onText?: (textSoFar: string) => void;
  /** Overrides the configured model for this call (`/model`). */
  readonly model?: string;
  /** `prompt_cache_key`: requests of one session share it, so the provider routes them to the same cache. */
  readonly cacheKey?: string;
  /**
   * The model must answer in text (a compaction's summary); the tools are still sent so the
   * request keeps the session's prefix.
   */
  readonly toolChoice?: 'none';
}

/** Asks the model once. Throws the worker's classified errors; never retries by itself. */
export type ModelPort = (
  messages: readonly AgentMessage[],
  tools: readonly ToolSpec[],
  options?: ModelRequestOptions,
) => Promise<ModelResponse>;

/** What a tool returns; an error is a result the model sees, never a crash of the worker. */
export interface ToolResult {
  readonly content: string;
  readonly isError: boolean;
  /** Exit code of a `bash` command. */
  readonly exitCode?: number;
  /** Where the whole output is kept, when `content` holds only its tail. */
  readonly outputPath?: string;
}

/** A file on its way to the chat: its bytes and the name the chat shows. */
export interface OutgoingFile {
  readonly bytes: Buffer;
  readonly name: string;
}

/** What a tool may use while it runs. */
export interface ToolContext {
  /** The project folder (real path): every path a tool takes must resolve inside it. */
  readonly root: string;
  /** A folder of this run's own, outside the project, for whole outputs. */
  readonly runDir: string;
  /** Aborted by `/stop` or a stopping worker: a running command's process group is killed. */
  readonly signal: AbortSignal;
  /**
   * Sends a project file to the chat as a document (`send_file`): its bytes as the tool read them
   * through the descriptor it checked, never a path to open again (which could lead elsewhere by then).
   */
  readonly sendFile: (file: OutgoingFile, caption?: string) => Promise<void>;
  /** Progress of a long tool ("running 12 s"), for the status message. */
  readonly onProgress?: (text: string) => void;
  /**
   * Prepares a release of project self for this run's message (`release`): builds and checks it,
   * then sends the approver's card; what to tell the model. Absent where self-release is off.
   */
  readonly release?: () => Promise<{ readonly ok: boolean; readonly text: string }>;
}

/**
 * What to do with a call that was started but whose result is not in the journal (the worker was
 * killed while it ran): run it again (reads), check whether it took effect and apply it only if
 * not (`write`, `edit`), or never run it again and tell the model (`bash`, `send_file`).
 */
export type ResumePolicy = 'rerun' | 'check-applied' | 'never';

/**
 * What a tool does to the world: only reads the project (`read`), changes its files (`change`),
 * runs a command (`run`), or sends something out of it (`send`). Reads may run together and never
 * ask; the approval policy and the card go by the kind, never by the tool's name.
 */
export type ToolKind = 'read' | 'change' | 'run' | 'send';

/** A tool: its contract with the model, the facts it declares about its calls, and how it runs. */
export interface Tool extends ToolSpec {
  readonly kind: ToolKind;
  readonly resume: ResumePolicy;
  /** A call in a few words, for the status message, a limit's answer and logs: "bash `npm test`". */
  describe(args: unknown): string;
  /** What makes a call risky, most serious first; empty when nothing does. Pure. */
  risks(args: unknown, context: RiskContext): readonly Risk[];
  /**
   * For a `change` tool: the project files a call writes, as the call names them, so an approval
   * card can list what the run changed. Without it the card names the call by its description.
   */
  changes?(args: unknown): readonly string[];
  /** Runs the call; `args` are already parsed JSON (validated by the tool itself). */
  run(args: unknown, ctx: ToolContext): Promise<ToolResult>;
  /** For `check-applied`: whether this exact call already took effect. */
  isApplied?(args: unknown, ctx: ToolContext): Promise<boolean>;
}

/** The result given to the model for a `never`-resume call interrupted by a restart. */
export const INTERRUPTED_RESULT =
  'interrupted: the worker restarted while this command ran; its outcome is unknown';

/**
 * Whether a model error is the model refusing the request as longer than its window: the model
 * port marks such an error with `contextTooLong: true`, and the loop compacts and asks once more.
 */
export function isContextTooLong(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && (err as { contextTooLong?: unknown }).contextTooLong === true
  );
}
