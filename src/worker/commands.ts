// The bot's commands: the one registry from which the Telegram menu (setMyCommands), the /help
// text and each command's lane are derived, and the pure parsing of a command message.

import type { Lane } from '../db/schema';

/** A command of the bot's menu as Telegram takes it (`setMyCommands`), without the leading slash. */
export interface MenuCommand {
  readonly command: string;
  readonly description: string;
}

/** A command the bot understands: its menu entry and the lane it is worked in. */
export interface CommandInfo extends MenuCommand {
  /**
   * `control` answers at once, even while a run works; `answer` takes its turn behind the chat's
   * run, for commands that change what a run works on (the project's files, the session) and so
   * must never race a run.
   */
  readonly lane: Lane;
}

/** Every command, in menu order. */
export const COMMANDS: readonly CommandInfo[] = [
  { command: 'start', description: 'What this bot is, and this chat id', lane: 'control' },
  { command: 'help', description: 'The commands', lane: 'control' },
  { command: 'new', description: 'Start a fresh conversation', lane: 'control' },
  { command: 'compact', description: 'Compact this session now: /compact [what to keep]', lane: 'answer' },
  { command: 'stop', description: 'Stop the answer in progress and the waiting messages', lane: 'control' },
  { command: 'status', description: 'What is queued and running in this chat', lane: 'control' },
  { command: 'usage', description: 'Tokens and cost today and this month', lane: 'control' },
  { command: 'model', description: 'Show or set the model: /model NAME', lane: 'control' },
  { command: 'project', description: 'Show the projects, or switch: /project NAME', lane: 'control' },
  { command: 'diff', description: "The last run's changes in this project", lane: 'control' },
  { command: 'undo', description: "Revert the last run's changes (a new commit)", lane: 'answer' },
  {
    command: 'approve',
    description: 'Allow an approval: /approve ID (or /approve ID run)',
    lane: 'control',
  },
  { command: 'deny', description: 'Deny an approval: /deny ID', lane: 'control' },
  {
    command: 'release',
    description: 'Build, check and release project self (approvers; AGENT_SELF=on)',
    // it builds in project self and must not race a run there
    lane: 'answer',
  },
];

/** The menu `setMyCommands` registers: every command with its description, nothing else. */
export function menuCommands(): MenuCommand[] {
  return COMMANDS.map(({ command, description }) => ({ command, description }));
}

/** The /help text: one line per command of the menu, in its order. */
export function helpText(): string {
  return ['Commands:', ...COMMANDS.map((c) => `/${c.command} — ${c.description}`)].join('\n');
}

const LANE_OF: ReadonlyMap<string, Lane> = new Map(COMMANDS.map((c) => [c.command, c.lane]));

/** The lane of a command by its (lower-case) name; a name not in the registry is `control`. */
export function laneOfCommand(name: string): Lane {
  return LANE_OF.get(name) ?? 'control';
}

/** A parsed command message. */
export type ParsedCommand =
  | { readonly kind: 'command'; readonly name: string; readonly args: string }
  /** `/cmd@other_bot` in a group: meant for another bot. */
  | { readonly kind: 'other-bot' };

/**
 * Parses `/name[@bot] args`. The name is matched case-insensitively; a suffix naming another bot
 * than `botUsername` (when known) is not ours.
 */
export function parseCommand(text: string, botUsername: string | undefined): ParsedCommand | null {
  const match = /^\/([A-Za-z][A-Za-z0-9_]{0,31})(?:@([A-Za-z0-9_]+))?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!match) return null;
  const suffix = match[2];
  if (suffix && botUsername && suffix.toLowerCase() !== botUsername.toLowerCase())
    return { kind: 'other-bot' };
  return { kind: 'command', name: match[1]!.toLowerCase(), args: (match[3] ?? '').trim() };
}
