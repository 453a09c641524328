// The agent's tools: their names and JSON arguments are a contract the
// scripted models of the tests rely on.
import type { SandboxDecision } from '../../workspace/sandbox';
import type { Tool } from '../ports';
import { bashTool } from './bash';
import { editTool } from './edit';
import { findTool } from './find';
import { grepTool } from './grep';
import { lsTool } from './ls';
import { readTool } from './read';
import { releaseTool } from './release';
import { sendFileTool } from './send-file';
import { writeTool } from './write';

export {
  commandRisks,
  noRisks,
  overwritesTooMany,
  looksDestructive,
  MASS_CHANGE_FILES,
  type Risk,
  type RiskContext,
} from './risk';

/** What the tools need from the worker. */
export interface ToolOptions {
  /** How `bash` runs commands: `await resolveSandbox(config.agent.sandbox)` at start. */
  readonly sandbox: SandboxDecision;
  /** Source of the commands' PATH, LANG and TZ (default process.env); nothing else is passed on. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Between SIGTERM and SIGKILL of a command's group (default 1000 ms). */
  readonly killGraceMs?: number;
  /** Time limit of each git call after a command (AGENT_GIT_TIMEOUT_SECONDS; default git-runner's). */
  readonly gitTimeoutMs?: number;
  /** AGENT_SELF=on: the `release` tool is offered too. */
  readonly selfRelease?: boolean;
}

/** Every tool, in the order they are offered to the model. */
export function createTools(options: ToolOptions): Tool[] {
  const tools = [readTool, writeTool, editTool, bashTool(options), grepTool, findTool, lsTool, sendFileTool];
  return options.selfRelease === true ? [...tools, releaseTool] : tools;
}
