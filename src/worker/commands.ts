// The bot's commands: the one list that /help prints and setMyCommands registers, and the pure
// parsing of a command message.

/** A command the bot understands, as the menu shows it. */
export interface CommandInfo {
  readonly command: string;
  readonly description: string;
}

/** Every command, in menu order. */
export const COMMANDS: readonly CommandInfo[] = [
  { command: 'start', description: 'What this bot is, and this chat id' },
  { command: 'help', description: 'The commands' },
  { command: 'new', description: 'Start a fresh conversation' },
  { command: 'stop', description: 'Stop the answer in progress and the waiting messages' },
  { command: 'status', description: 'What is queued and running in this chat' },
  { command: 'usage', description: 'Tokens and cost today and this month' },
  { command: 'model', description: 'Show or set the model: /model NAME' },
  { command: 'project', description: 'Show the projects, or switch: /project NAME' },
  { command: 'diff', description: "The last run's changes in this project" },
  { command: 'undo', description: "Revert the last run's changes (a new commit)" },
  { command: 'approve', description: 'Allow an approval: /approve ID (or /approve ID run)' },
  { command: 'deny', description: 'Deny an approval: /deny ID' },
];

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

/** The /help text. */
export function helpText(): string {
  return ['Commands:', ...COMMANDS.map((c) => `/${c.command} — ${c.description}`)].join('\n');
}
