// The session a chat's message belongs to, and the request the chat's next run would send: one
// definition for runs, `/compact` and `/status`, so the commands see the session, the prefix and
// the tools a run does (and the summary `/compact` asks for shares the runs' cached prefix).

import { contextWindow } from '../agent/compaction';
import { buildRequest, toolsTokens, type Request } from '../agent/context-builder';
import type { JournalSession } from '../agent/journal';
import type { ToolSpec } from '../agent/ports';
import { runEntries } from '../agent/transcript';
import { KV } from '../queue/kv';
import type { Store } from '../queue/store';
import { systemPromptWith, type ProjectInstructions } from '../workspace/project-instructions';
import { chatModel } from './chat-model';
import { promptCacheKey } from './openai/cache-key';

/** Which conversation of a chat an item belongs to: the chat's own, or a forum topic's. */
export interface Conversation {
  readonly chatId: number;
  /** The forum topic (`message_thread_id`); null: the chat's own conversation. */
  readonly threadId: number | null;
}

/** The conversation of an item of a chat: the chat, and its forum topic when it has one. */
export function conversationOf(item: {
  readonly chatId: number | null;
  readonly threadId: number | null;
}): Conversation {
  return { chatId: item.chatId!, threadId: item.threadId };
}

/**
 * Where the sessions of the conversation that its inbox item `inboxId` belongs to start: after its
 * latest `/new` (its inbox id; 0: it never had one).
 */
export function sessionStart(store: Pick<Store, 'getKv'>, at: Conversation, inboxId: number): number {
  const start = Number(store.getKv(KV.conversationStart(at.chatId, at.threadId)) ?? 0);
  // a message sent before the chat's /new still belongs to the conversation it was part of
  return inboxId > start ? start : 0;
}

/** The session of the conversation's `project` that its inbox item `inboxId` belongs to, made if new. */
export function chatSession(
  store: Pick<Store, 'getKv' | 'sessionFor'>,
  at: Conversation,
  inboxId: number,
  project: string,
  now: number,
): number {
  return store.sessionFor(at.chatId, at.threadId ?? 0, project, sessionStart(store, at, inboxId), now);
}

/** What a run of a chat is set up with, as the worker's configuration and the chat's choices say. */
export interface NextRunDeps {
  readonly store: Store;
  /**
   * The chat's current project, with its real path; absent when runs have no tools
   * (`AGENT_TOOLS=off`): they work in no project and read no instructions.
   */
  readonly projectOf?: (at: Conversation) => Promise<{ readonly name: string; readonly root: string }>;
  /** The project's AGENTS.md (null: none). */
  readonly instructions: (root: string) => Promise<ProjectInstructions | null>;
  readonly systemPrompt: string;
  /** The runs' tools as offered to the model, in their order (none under AGENT_TOOLS=off). */
  readonly tools: readonly ToolSpec[];
  readonly defaultModel: string;
  readonly models: readonly string[];
  /** AGENT_CONTEXT_TOKENS (0: the model's window, from a table). */
  readonly contextTokens: number;
  /** OPENAI_PROMPT_CACHE_KEY resolved. */
  readonly promptCacheKey: boolean;
  readonly now: () => number;
}

/** The chat's session as its next run would find it, and that run's request before a new message. */
export interface NextRequest {
  readonly sessionId: number;
  readonly session: JournalSession;
  /** Whether runs work in a project (AGENT_TOOLS=on), so instructions are looked for. */
  readonly inProject: boolean;
  /** The project's real path ('' without a project): the session's images are read from it. */
  readonly root: string;
  readonly instructions: ProjectInstructions | null;
  readonly systemPrompt: string;
  readonly tools: readonly ToolSpec[];
  readonly model: string;
  readonly window: number;
  readonly cacheKey?: string;
  readonly request: Request;
}

/**
 * The request the next run of the item's chat would send without its message: the system prompt
 * with the project's AGENTS.md, the tools, the session's summary and its transcript since.
 */
export async function nextRequest(
  deps: NextRunDeps,
  item: { readonly id: number; readonly chatId: number; readonly threadId: number | null },
): Promise<NextRequest> {
  const { chatId } = item;
  const at: Conversation = { chatId, threadId: item.threadId };
  const place = (await deps.projectOf?.(at)) ?? { name: '', root: '' };
  const instructions = place.root === '' ? null : await deps.instructions(place.root);
  const systemPrompt = systemPromptWith(deps.systemPrompt, instructions);
  const sessionId = chatSession(deps.store, at, item.id, place.name, deps.now());
  const session = deps.store.session(sessionId);
  const entries = session.earlier.flatMap((run) => runEntries(run, false));
  const model = chatModel(deps.store, chatId, deps.defaultModel, deps.models);
  return {
    sessionId,
    session,
    inProject: deps.projectOf !== undefined,
    root: place.root,
    instructions,
    systemPrompt,
    tools: deps.tools,
    model,
    window: contextWindow(model, deps.contextTokens),
    ...(deps.promptCacheKey ? { cacheKey: promptCacheKey(chatId, place.name) } : {}),
    request: buildRequest(systemPrompt, session.compaction, entries, toolsTokens(deps.tools)),
  };
}
