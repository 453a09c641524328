import { PassThrough } from 'node:stream';
import { runAgent } from '../../src/agent/loop';
import type { CliContext } from '../../src/cli/context';
import { createOutput } from '../../src/cli/output';
import { run } from '../../src/cli/run';
import {
  answer,
  callTools,
  fakeTool,
  runInput,
  runPorts,
  scriptedModel,
  testClock,
  testJournal,
  type TestJournal,
} from '../helpers/agent-world';

// `runs show` over a journal that holds what a command really printed (terminal escapes, a bidi
// override, a bot token on a line of its own): the operator's terminal gets escapes, not the
// characters, and never the token, in the table and in JSON alike. The CLI is not told any
// secret here, as an operator's shell would not be: the token's shape is what gives it away.

const TOKEN_HALF = 'AAFakeTokenForTests_abcdefghijklmnop';
const TOKEN = `123456789:${TOKEN_HALF}`;
const KEY_BODY = 'test-autonous-0123456789abcdefABCDEF';
const ESC = '\u001b';
// a raw control or format character: what must never reach the terminal
// eslint-disable-next-line no-control-regex -- the characters under test
const RAW_HIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069]/;

let tj: TestJournal;
beforeEach(() => (tj = testJournal('sqlite')));
afterEach(() => tj.close());

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ctx: CliContext = {
    out: createOutput(stdout, stderr, {}),
    env: {},
    now: () => 1_800_000_100_000,
    exitCode: 0,
  };
  const code = await run(['node', 'autonous', '--db', tj.db!.path, ...args], ctx);
  return { code, stdout: out, stderr: err };
}

/** A run whose one command printed escapes and secrets, answered with more of them. */
async function hostileRun(): Promise<number> {
  const bash = fakeTool({
    name: 'bash',
    run: () => ({
      content: `exit code 0\n${ESC}[2J${ESC}]0;pwned${ESC}\\\n${TOKEN}\nsk-${KEY_BODY}\nok\u202Edone`,
      isError: false,
      exitCode: 0,
    }),
  });
  const result = await runAgent(
    runInput(tj.newInboxId()),
    runPorts(
      scriptedModel([
        callTools(['bash', { command: `cat .env${ESC}[8m \u2066hidden\u2069` }]),
        answer(`Printed ${ESC}[31mred${ESC}[0m and\n${TOKEN}`),
      ]),
      [bash],
      tj.journal,
      testClock(),
    ),
  );
  return result.runId;
}

describe('runs show with hostile tool output', () => {
  it('prints control and bidi characters escaped and no token in the table', async () => {
    const id = await hostileRun();
    const shown = await cli(['runs', 'show', String(id)]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).not.toMatch(RAW_HIDDEN);
    expect(shown.stdout).toContain('\\x1B[2J');
    expect(shown.stdout).toContain('\\u2066hidden\\u2069');
    // the answer keeps its lines, with its escape codes shown
    expect(shown.stdout).toContain('Printed \\x1B[31mred\\x1B[0m and\n[redacted]');
    expect(shown.stdout).not.toContain(TOKEN_HALF);
    expect(shown.stdout).not.toContain(KEY_BODY);
  });

  it('prints no token that follows a line break, and no raw hidden character, in JSON', async () => {
    const id = await hostileRun();
    const shown = await cli(['--json', 'runs', 'show', String(id)]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).not.toContain(TOKEN_HALF);
    expect(shown.stdout).not.toContain(KEY_BODY);
    expect(shown.stdout).not.toMatch(RAW_HIDDEN);
    const json = JSON.parse(shown.stdout) as { answer: string; steps: { result?: string | null }[] };
    // still JSON of the same text, less the secrets: the escapes are JSON's own
    expect(json.answer).toBe(`Printed ${ESC}[31mred${ESC}[0m and\n[redacted]`);
    expect(json.steps.find((s) => s.result)?.result).toBe(
      `exit code 0\n${ESC}[2J${ESC}]0;pwned${ESC}\\\n[redacted]\n[redacted]\nok\u202Edone`,
    );
  });
});
