import fs from 'node:fs';
import path from 'node:path';
import type { ChatCompletionRequest, ChatMessage } from '../helpers/fake-openai';
import { runCli } from '../helpers/run-cli';
import { TEST_API_KEY } from '../helpers/worker-env';
import { useWorkerHarness } from '../helpers/worker-harness';

// Secrets never travel, through the real worker: a scripted model runs a command that prints the
// bot token and the API key (and their secret halves alone), sends the file holding them, and
// writes them in its answer. None of them reaches the model, the journal, the chat or the CLI.

jest.setTimeout(60_000);
const h = useWorkerHarness();

function project(): string {
  return path.join(path.dirname(h.dbPath), 'workspaces', 'default');
}

function toolResults(req: ChatCompletionRequest): string[] {
  return req.messages.filter((m: ChatMessage) => m.role === 'tool').map((m) => String(m.content));
}

/** The token, its part after the colon, the key and its body without `sk-`. */
function secrets(): string[] {
  const token = h.telegram.token;
  return [token, token.slice(token.indexOf(':') + 1), TEST_API_KEY, TEST_API_KEY.slice('sk-'.length)];
}

function expectNoSecret(where: string, text: string): void {
  for (const secret of secrets()) {
    if (text.includes(secret)) throw new Error(`${where} holds the secret ${secret}:\n${text}`);
  }
}

describe('a command that prints the bot token and the API key', () => {
  it('reaches neither the model, the journal, the chat, a sent document nor runs show', async () => {
    const token = h.telegram.token;
    const [, half, , body] = secrets();
    fs.mkdirSync(project(), { recursive: true });
    // the token on a line of its own too: JSON writes the break before it as `\n`
    fs.writeFileSync(
      path.join(project(), 'secrets.env'),
      `TELEGRAM_BOT_TOKEN=${token}\n${token}\nOPENAI_API_KEY=${TEST_API_KEY}\nHALF=${half}\nBODY=${body}\n`,
    );
    h.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: 'cat secrets.env' } }] },
      { toolCalls: [{ name: 'send_file', arguments: { path: 'secrets.env', caption: 'the env file' } }] },
      // a model that repeats a secret it saw (here: one it was never shown) in its answer
      () => `Here they are: ${token} and ${TEST_API_KEY}.`,
    ]);
    await h.start({ AGENT_APPROVAL: 'never' });
    h.telegram.pushMessage(101, 'show me the env file');
    await h.telegram.waitFor(
      () => h.telegram.sentTo(101).some((m) => m.text.startsWith('Here they are')),
      20_000,
      'the answer',
    );
    await h.settled();

    // the model: the tool message it got shows where the secrets were
    expect(h.openai.requests).toHaveLength(3);
    const told = toolResults(h.openai.requests[1]!.body).at(-1)!;
    expect(told).toContain(
      'TELEGRAM_BOT_TOKEN=[redacted]\n[redacted]\nOPENAI_API_KEY=[redacted]\nHALF=[redacted]\nBODY=[redacted]',
    );
    for (const [i, req] of h.openai.requests.entries())
      expectNoSecret(`model request ${i + 1}`, JSON.stringify(req.body));

    // the journal, the history, the whole database file
    expect(h.rows(`SELECT COUNT(*) AS n FROM agent_steps WHERE result LIKE '%[redacted]%'`)).toEqual([
      { n: 1 },
    ]);
    expectNoSecret('agent_steps', JSON.stringify(h.rows('SELECT * FROM agent_steps')));
    expectNoSecret('agent_runs', JSON.stringify(h.rows('SELECT * FROM agent_runs')));
    expectNoSecret('history', JSON.stringify(h.rows('SELECT * FROM history')));
    const bytes =
      fs.readFileSync(h.dbPath).toString('latin1') +
      fs.readFileSync(`${h.dbPath}-wal`, { flag: 'a+' }).toString('latin1');
    expectNoSecret('the database file', bytes);

    // the chat: every message, edit, draft and document, and every request the worker made
    const answer = h.telegram.sentTo(101).find((m) => m.text.startsWith('Here they are'))!;
    expect(answer.text).toMatch(/^Here they are: \[redacted\] and \[redacted\]\./);
    expectNoSecret('messages', JSON.stringify(h.telegram.sent));
    expectNoSecret('edits', JSON.stringify(h.telegram.edits));
    expectNoSecret('drafts', JSON.stringify(h.telegram.drafts));
    expectNoSecret('Bot API requests', JSON.stringify(h.telegram.calls.map((c) => c.params)));
    expect(h.telegram.documents).toHaveLength(1);
    const document = h.telegram.documents[0]!;
    expect(document.filename).toBe('secrets.env');
    expect(document.content.toString('utf8')).toBe(
      'TELEGRAM_BOT_TOKEN=[redacted]\n[redacted]\nOPENAI_API_KEY=[redacted]\nHALF=[redacted]\nBODY=[redacted]\n',
    );
    expect(document.caption).toMatch(
      /^the env file\n\nSecrets in this file were replaced by \[redacted\]\.$/,
    );
    expectNoSecret('the log', h.log.lines.join('\n'));

    // the operator's CLI, which is not told the secrets
    const cliEnv = { HOME: path.dirname(h.dbPath), TG_DB_PATH: h.dbPath };
    const table = await runCli(['runs', 'show', '1'], cliEnv);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('[redacted]');
    expectNoSecret('runs show', table.stdout);
    const json = await runCli(['runs', 'show', '1', '--json'], cliEnv);
    expect(json.code).toBe(0);
    expectNoSecret('runs show --json', json.stdout);
    const run = JSON.parse(json.stdout) as { steps: { tool?: string; result?: string | null }[] };
    expect(run.steps.find((s) => s.tool === 'bash')!.result).toContain(
      '\n[redacted]\nOPENAI_API_KEY=[redacted]',
    );
  });
});
