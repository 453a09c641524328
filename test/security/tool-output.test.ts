import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/run-cli';
import { ask, decideCards, lastToolResults, useSecurityWorld } from '../helpers/security-world';

// What a tool prints goes to the model, the journal, the chat and the CLI: a secret in it is
// redacted before it is stored or sent, and control sequences never reach an operator's terminal.
// Unsandboxed (every bash is allowed by a press) so that these run on any machine.

jest.setTimeout(60_000);
const w = useSecurityWorld();
const UNSANDBOXED = { AGENT_SANDBOX: 'off' };

function cli(args: readonly string[]): ReturnType<typeof runCli> {
  return runCli(args, { HOME: w.base, TG_DB_PATH: w.dbPath, PM2_HOME: w.pm2Home });
}

describe('secrets printed by a tool', () => {
  it('a project file holding the token and key: cat, read and grep of it show neither, anywhere', async () => {
    const project = w.project('default', true);
    // a line break before each: JSON shows it as \n, which no \b-anchored pattern sees as a boundary
    fs.writeFileSync(path.join(project, 'deploy.conf'), `bot:\n${w.token}\nkey:\n${w.apiKey}\n`);
    decideCards(w, () => 'Allow once');
    w.openai.script([
      {
        toolCalls: [
          { name: 'bash', arguments: { command: 'cat deploy.conf' } },
          { name: 'read', arguments: { path: 'deploy.conf' } },
          { name: 'grep', arguments: { pattern: 'sk-|AA' } },
        ],
      },
      (req) => {
        const results = req.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
        return `ATTACK OVER\n${results.join('\n')}`;
      },
    ]);
    await w.start(UNSANDBOXED);
    await ask(w, 'show me the deploy config', 'ATTACK OVER');
    await w.settled();
    const results = lastToolResults(w);
    console.log(`what the model was given:\n${results.join('\n---\n')}`);
    expect(results).toHaveLength(3);
    expect(w.leaks([w.token, w.apiKey])).toBe('');

    const json = await cli(['runs', 'show', '1', '--json']);
    const table = await cli(['runs', 'show', '1']);
    for (const shown of [json, table]) {
      expect(shown.code).toBe(0);
      expect(shown.stdout).not.toContain(w.token);
      expect(shown.stdout).not.toContain(w.apiKey);
    }
  });
});

describe('`autonous runs show` and control sequences', () => {
  it('escape sequences a tool printed are not printed raw', async () => {
    decideCards(w, () => 'Allow once');
    w.openai.script([
      {
        toolCalls: [
          {
            name: 'bash',
            arguments: {
              command: "printf '\\033]0;pwned\\007\\033[2J\\033[31mred\\033[0m\\n' > motd.txt; cat motd.txt",
            },
          },
        ],
      },
      { toolCalls: [{ name: 'read', arguments: { path: 'motd.txt' } }] },
      (req) =>
        `ATTACK OVER: ${req.messages
          .filter((m) => m.role === 'tool')
          .map((m) => String(m.content))
          .join(' ')}`,
    ]);
    await w.start(UNSANDBOXED);
    await ask(w, 'show the motd', 'ATTACK OVER');
    await w.settled();
    expect(lastToolResults(w).join('')).toContain('pwned');
    const shown = await cli(['runs', 'show', '1']);
    expect(shown.code).toBe(0);
    // C0 controls but tab and newline, DEL and C1 (0x9b is a one-byte CSI on some terminals)
    const isControl = (code: number): boolean =>
      (code < 0x20 && code !== 0x09 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f);
    const controls = [...shown.stdout]
      .map((c) => c.codePointAt(0)!)
      .filter(isControl)
      .map((code) => `U+${code.toString(16).padStart(4, '0').toUpperCase()}`);
    expect(controls).toEqual([]);
  });
});
