import path from 'node:path';
import type { SentMessage } from '../helpers/fake-telegram';
import { runCli } from '../helpers/run-cli';
import { useWorkerHarness } from '../helpers/worker-harness';

// "Trojan Source" on an approval card, through the real worker: a scripted model asks to run a
// command holding a bidi override and a terminal code. The card shows them escaped under a risk
// line, asking and once denied; the status message and `runs show` never carry them as they are.

jest.setTimeout(60_000);
const h = useWorkerHarness();

// reads as an innocent `cat` in a bidi-aware view, and hides the rest of a terminal line
const COMMAND = 'cat README.md \u202E; rm -rf ./build #\u202C\u001b[8m';
const SHOWN = 'cat README.md \\u202E; rm -rf ./build #\\u202C\\x1B[8m';
const RISK_LINE = /^⚠ Holds hidden or control characters/;
// eslint-disable-next-line no-control-regex -- the characters under test
const RAW_HIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069]/;

function cards(): SentMessage[] {
  return h.telegram.sentTo(101).filter((m) => /^Approval #\d+: /.test(m.text));
}

describe('a command with a bidi override and a terminal code', () => {
  it('shows on its card escaped, under a risk line, asking and once denied', async () => {
    h.openai.script([{ toolCalls: [{ name: 'bash', arguments: { command: COMMAND } }] }, 'Not run, then.']);
    await h.start({ AGENT_APPROVAL: 'always' });
    h.telegram.pushMessage(101, 'tidy up');
    await h.telegram.waitFor(() => cards().length === 1, 15_000, 'the approval card');
    const card = cards()[0]!;
    const lines = card.text.split('\n');
    expect(lines[0]).toMatch(/^Approval #\d+: bash wants to run a command$/);
    expect(lines[1]).toMatch(RISK_LINE);
    expect(lines).toContain(SHOWN);
    expect(card.text).not.toMatch(RAW_HIDDEN);

    const deny = h.telegram
      .message(101, card.messageId)!
      .keyboard!.flat()
      .find((b) => b.text === 'Deny')!;
    h.telegram.pushCallbackQuery(101, 101, card.messageId, String(deny.callback_data));
    await h.telegram.waitFor(
      () => h.telegram.sentTo(101).some((m) => m.text.startsWith('Not run, then.')),
      15_000,
      'the answer after the denial',
    );
    await h.settled();
    const decided = h.telegram.message(101, card.messageId)!.text;
    expect(decided).toContain('❌ Denied by user 101');
    expect(decided.split('\n')[1]).toMatch(RISK_LINE);
    expect(decided).toContain(SHOWN);

    // nothing the worker sent or edited carries the characters as they are
    for (const m of h.telegram.sent) expect(m.text).not.toMatch(RAW_HIDDEN);
    for (const e of h.telegram.edits) expect(e.text).not.toMatch(RAW_HIDDEN);

    // nor does the operator's terminal
    const shown = await runCli(['runs', 'show', '1'], { HOME: path.dirname(h.dbPath), TG_DB_PATH: h.dbPath });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('\\u202E');
    expect(shown.stdout).not.toMatch(RAW_HIDDEN);
  });
});
