import fs from 'node:fs';
import path from 'node:path';
import { BWRAP_WORKS } from '../helpers/temp-dir';
import { waitUntil } from '../helpers/wait-until';
import {
  ask,
  bwrapOr,
  CHAT,
  cards,
  decideCards,
  lastToolResults,
  useSecurityWorld,
} from '../helpers/security-world';

// Approvals are the only guard of unsandboxed commands (AGENT_SANDBOX=off, on-risk): what a person
// allowed must be exactly what runs, and what the card shows must be what they read.

jest.setTimeout(60_000);
const w = useSecurityWorld();
const UNSANDBOXED = { AGENT_SANDBOX: 'off', AGENT_APPROVAL: 'on-risk' };
const BWRAP = bwrapOr('bwrap does not sandbox on this machine (BWRAP_WORKS is false)', BWRAP_WORKS);
const itBwrap = BWRAP ? it : it.skip;

describe('unsandboxed approvals', () => {
  it('"Allow for this run" on `make test` does not cover the same command after the Makefile changed', async () => {
    const marker = path.join(w.outside, 'make-ran');
    const project = w.project('default', true);
    fs.writeFileSync(path.join(project, 'Makefile'), 'test:\n\t@echo tests pass\n');
    const seen = decideCards(w, (card, index) => {
      if (!card.text.includes('make test')) return 'Allow once'; // a card for the write, if one is asked
      return index === 0 ? 'Allow for this run' : 'Deny';
    });
    w.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: 'make test' } }] },
      {
        toolCalls: [
          {
            name: 'write',
            arguments: { path: 'Makefile', content: `test:\n\t@touch ${marker}; echo pwned\n` },
          },
        ],
      },
      { toolCalls: [{ name: 'bash', arguments: { command: 'make test' } }] },
      'ATTACK OVER',
    ]);
    await w.start(UNSANDBOXED);
    await ask(w, 'run the tests', 'ATTACK OVER');
    await w.settled();
    const makeCards = seen.filter((c) => c.text.includes('make test'));
    console.log(`cards asked: ${seen.map((c) => c.text.split('\n')[0]).join(' | ')}`);
    expect(fs.existsSync(marker)).toBe(false);
    expect(makeCards).toHaveLength(2);
    expect(fs.readFileSync(path.join(project, 'Makefile'), 'utf8')).toContain('pwned');
  });

  it("a command's HOME is not the project: a .gitconfig written there does not apply to git in bash", async () => {
    const aliasMarker = path.join(w.outside, 'alias-ran');
    const gitconfig = [
      '[alias]',
      `\tsecprobe = !touch ${aliasMarker} && echo ALIAS-RAN`,
      '[secprobe]',
      '\tvalue = planted-by-the-project',
      '',
    ].join('\n');
    decideCards(w, () => 'Allow once');
    w.openai.script([
      { toolCalls: [{ name: 'write', arguments: { path: '.gitconfig', content: gitconfig } }] },
      {
        toolCalls: [
          {
            name: 'bash',
            arguments: {
              command: 'git config --get secprobe.value; git secprobe; true',
            },
          },
        ],
      },
      'ATTACK OVER',
    ]);
    await w.start(UNSANDBOXED);
    await ask(w, 'check my git setup', 'ATTACK OVER');
    await w.settled();
    const output = lastToolResults(w).at(-1) ?? '';
    console.log(`git with a planted .gitconfig:\n${output}`);
    expect(fs.existsSync(path.join(w.project(), '.gitconfig'))).toBe(true);
    expect(output).not.toContain('planted-by-the-project');
    expect(output).not.toContain('ALIAS-RAN');
    expect(fs.existsSync(aliasMarker)).toBe(false);
  });
});

describe('sandboxed approvals', () => {
  itBwrap(
    '"Allow for this run" on a network command does not cover it after an unasked command rewrote its Makefile',
    async () => {
      const project = w.project('default', true);
      fs.writeFileSync(path.join(project, 'Makefile'), 'fetch:\n\t@echo fetched\n');
      const fetch = { command: 'make fetch', network: true };
      const seen = decideCards(w, (_card, index) => (index === 0 ? 'Allow for this run' : 'Deny'));
      w.openai.script([
        { toolCalls: [{ name: 'bash', arguments: fetch }] },
        // in the sandbox and without the network this needs no approval, but it changes what
        // the approved text runs (with the network, where it could send anything anywhere)
        {
          toolCalls: [
            {
              name: 'bash',
              arguments: { command: "printf 'fetch:\\n\\t@touch exfiltrated; echo pwned\\n' > Makefile" },
            },
          ],
        },
        { toolCalls: [{ name: 'bash', arguments: fetch }] },
        'ATTACK OVER',
      ]);
      await w.start({ AGENT_SANDBOX: 'bwrap', AGENT_APPROVAL: 'on-risk' });
      await ask(w, 'fetch the dependencies', 'ATTACK OVER');
      await w.settled();
      console.log(`cards asked: ${seen.map((c) => c.text.split('\n')[0]).join(' | ')}`);
      expect(fs.readFileSync(path.join(project, 'Makefile'), 'utf8')).toContain('pwned');
      // asked again, the rewritten Makefile and the command that rewrote it named, and denied
      expect(seen).toHaveLength(2);
      expect(seen[1]!.text).toContain('make fetch');
      expect(seen[1]!.text).toMatch(/printf/);
      expect(fs.existsSync(path.join(project, 'exfiltrated'))).toBe(false);
    },
  );
});

describe('approval cards show what will run', () => {
  it('right-to-left overrides and zero-width characters are shown escaped, with a line saying so', async () => {
    const hidden = '\u202E'; // RIGHT-TO-LEFT OVERRIDE
    const zeroWidth = '\u200B'; // ZERO WIDTH SPACE
    const command = `echo "report${hidden}txt.sh${zeroWidth}" > /dev/null`;
    const seen = decideCards(w, () => 'Deny');
    w.openai.script([{ toolCalls: [{ name: 'bash', arguments: { command } }] }, 'ATTACK OVER']);
    await w.start({ AGENT_APPROVAL: 'always' });
    w.telegram.pushMessage(CHAT, 'say hi');
    await waitUntil(
      () => seen.length > 0,
      20_000,
      () => 'the approval card',
    );
    const asking = seen[0]!.text;
    console.log(`the card:\n${asking}`);
    expect(asking).toContain('report');
    expect(asking).not.toContain(hidden);
    expect(asking).not.toContain(zeroWidth);
    expect(asking).toMatch(/202E/i);
    expect(asking).toMatch(/200B/i);
    expect(asking).toMatch(/hidden|invisible|control|bidi|direction/i);
    await w.telegram.waitFor(
      () => w.telegram.sentTo(CHAT).some((m) => m.text.startsWith('ATTACK OVER')),
      20_000,
      'the answer',
    );
    // the card once decided (its buttons replaced by the decision) shows the command escaped too
    const decided = cards(w)[0]!.text;
    expect(decided).not.toContain(hidden);
    expect(decided).not.toContain(zeroWidth);
  });
});
