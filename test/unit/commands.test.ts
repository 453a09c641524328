import { commandLane } from '../../src/worker/classify-update';
import { COMMANDS, helpText, laneOfCommand, menuCommands, parseCommand } from '../../src/worker/commands';

// The command registry is the one list: the Telegram menu, the /help text and each command's
// lane are all read from it, so a command added there appears everywhere at once.

describe('the command registry', () => {
  it('gives Telegram a menu of every command, in order, with nothing but its name and description', () => {
    expect(menuCommands()).toEqual(COMMANDS.map((c) => ({ command: c.command, description: c.description })));
    for (const entry of menuCommands()) expect(Object.keys(entry).sort()).toEqual(['command', 'description']);
  });

  it('lists every command of the menu in /help, in the menu order', () => {
    const lines = helpText().split('\n');
    expect(lines[0]).toBe('Commands:');
    expect(lines.slice(1)).toEqual(COMMANDS.map((c) => `/${c.command} — ${c.description}`));
  });

  it('holds names Telegram accepts, each once, with descriptions that fit', () => {
    const names = COMMANDS.map((c) => c.command);
    expect(new Set(names).size).toBe(names.length);
    for (const c of COMMANDS) {
      expect(c.command).toMatch(/^[a-z0-9_]{1,32}$/);
      expect(c.description.length).toBeGreaterThanOrEqual(1);
      expect(c.description.length).toBeLessThanOrEqual(256);
    }
  });

  it("takes each command's lane from the registry, and puts unknown commands in the control lane", () => {
    for (const c of COMMANDS) {
      expect(laneOfCommand(c.command)).toBe(c.lane);
      expect(commandLane(`/${c.command.toUpperCase()}@my_bot now`)).toBe(c.lane);
    }
    expect(laneOfCommand('frobnicate')).toBe('control');
    expect(commandLane('/frobnicate')).toBe('control');
  });

  it('puts the commands that change what a run works on (its files, its session) behind the run', () => {
    expect(COMMANDS.filter((c) => c.lane === 'answer').map((c) => c.command)).toEqual([
      'compact',
      'undo',
      'release',
    ]);
  });

  it('parses every registered command, case-insensitively, and leaves other bots their commands', () => {
    for (const c of COMMANDS)
      expect(parseCommand(`/${c.command.toUpperCase()}@Me_Bot  x y `, 'me_bot')).toEqual({
        kind: 'command',
        name: c.command,
        args: 'x y',
      });
    expect(parseCommand('/help@other_bot', 'me_bot')).toEqual({ kind: 'other-bot' });
  });
});
