import fs from 'node:fs';
import path from 'node:path';
import { INTERRUPTED_RESULT } from '../../src/agent/ports';
import { openAIErrors, type ChatCompletionRequest, type ChatMessage } from '../helpers/fake-openai';
import { runCli } from '../helpers/run-cli';
import { waitUntil } from '../helpers/wait-until';
import { TEST_API_KEY } from '../helpers/worker-env';
import { useWorkerHarness } from '../helpers/worker-harness';
import { BWRAP_WORKS } from '../helpers/temp-dir';

// Agent runs through the real worker: a scripted model (the fake OpenAI returns tool_calls), real
// files and git in the project folder, real bwrap when it works here.

jest.setTimeout(60_000);
const h = useWorkerHarness();
const AGENT = { AGENT_APPROVAL: 'never' };

/** The tool results the model was given in a request, in order. */
function toolResults(req: ChatCompletionRequest): string[] {
  return req.messages.filter((m: ChatMessage) => m.role === 'tool').map((m) => String(m.content));
}

function project(): string {
  return path.join(path.dirname(h.dbPath), 'workspaces', 'default');
}

/** Pids whose command line holds `marker` (our own test commands only). */
function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

// Whether bwrap sandboxes here (decided before the tests are defined, so some can be skipped)
const bwrap = BWRAP_WORKS;

describe('agent runs', () => {
  it('make a file, run it, tell me the output: write, bash, then an answer holding the output', async () => {
    h.openai.script([
      {
        toolCalls: [
          { name: 'write', arguments: { path: 'hello.sh', content: 'echo "hello from $((6*7))"\n' } },
        ],
      },
      { toolCalls: [{ name: 'bash', arguments: { command: 'bash hello.sh' } }] },
      (req) => `The command printed: ${toolResults(req).at(-1)!.split('\n').at(-1)}`,
    ]);
    await h.start(AGENT);
    const asked = h.telegram.pushMessage(101, 'make a file, run it, tell me the output');
    await h.telegram.waitFor(
      () => h.telegram.sentTo(101).some((m) => m.text.startsWith('The command printed')),
      20_000,
      'the answer',
    );
    await h.settled();
    const sent = h.telegram.sentTo(101);
    // the status message first (a reply to the request), then the answer (a reply too)
    expect(sent).toHaveLength(2);
    // the answer, then the run's one commit (every run can be undone)
    expect(sent[1]!.text).toMatch(
      /^The command printed: hello from 42\n\nCommitted the run's changes \(1 file\) as [0-9a-f]{8}: \/diff shows them, \/undo reverts them\.$/,
    );
    expect(sent.map((m) => m.replyToMessageId)).toEqual([
      asked.message!.message_id,
      asked.message!.message_id,
    ]);
    await h.telegram.waitFor(() => sent[0]!.text.startsWith('Done'), 10_000, 'the status saying done');
    expect(sent[0]!.text).toMatch(/^Done: 3 steps, \d+ s\n✓ write hello.sh\n✓ bash `bash hello.sh` exit 0$/);
    // the run keeps its status message and, once committed, no checkpoint; kv keeps neither
    expect(h.rows(`SELECT status_message_id AS statusMessageId, checkpoint FROM agent_runs`)).toEqual([
      { statusMessageId: sent[0]!.messageId, checkpoint: null },
    ]);
    expect(h.rows(`SELECT key FROM kv WHERE key GLOB 'run_*'`)).toEqual([]);
    // edits are paced: never twice the same text, never two within 3 s
    const edits = h.telegram.edits.filter((e) => e.messageId === sent[0]!.messageId);
    for (let i = 1; i < edits.length; i++) {
      expect(edits[i]!.text).not.toBe(edits[i - 1]!.text);
      expect(edits[i]!.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(2900);
    }
    expect(fs.readFileSync(path.join(project(), 'hello.sh'), 'utf8')).toBe('echo "hello from $((6*7))"\n');
    // the tools were offered; the answer went to history and the usage of all three calls was kept
    expect(
      (h.openai.requests[0]!.body.tools as { function: { name: string } }[]).map((t) => t.function.name),
    ).toEqual(['read', 'write', 'edit', 'bash', 'grep', 'find', 'ls', 'send_file']);
    const reported = h.openai.requests.map((r) => r.response!.usage);
    expect(h.rows('SELECT prompt_tokens, completion_tokens FROM usage')).toEqual([
      {
        prompt_tokens: reported.reduce((s, u) => s + u.promptTokens, 0),
        completion_tokens: reported.reduce((s, u) => s + u.completionTokens, 0),
      },
    ]);
    expect(h.rows(`SELECT role, text FROM history ORDER BY id`).at(-1)).toEqual({
      role: 'assistant',
      text: expect.stringMatching(/^The command printed: hello from 42\n\nCommitted the run's changes/),
    });

    // the steps are in `autonous runs show`
    const shown = await runCli(['runs', 'show', '1', '--json'], {
      HOME: path.dirname(h.dbPath),
      TG_DB_PATH: h.dbPath,
    });
    expect(shown.code).toBe(0);
    const run = JSON.parse(shown.stdout) as {
      status: string;
      steps: { tool?: string; status?: string; exitCode?: number }[];
    };
    expect(run.status).toBe('done');
    expect(run.steps.filter((s) => s.tool !== undefined).map((s) => [s.tool, s.status])).toEqual([
      ['write', 'done'],
      ['bash', 'done'],
    ]);
  });

  it('refuses paths out of the project (../, absolute, a symlink out): the model gets the error', async () => {
    fs.mkdirSync(project(), { recursive: true });
    fs.symlinkSync('/etc', path.join(project(), 'out'));
    h.openai.script([
      {
        toolCalls: [
          { name: 'read', arguments: { path: '../../etc/passwd' } },
          { name: 'read', arguments: { path: '/etc/passwd' } },
          { name: 'read', arguments: { path: 'out/passwd' } },
          { name: 'write', arguments: { path: 'out/evil', content: 'x' } },
        ],
      },
      'refused, as expected',
    ]);
    await h.start(AGENT);
    h.telegram.pushMessage(101, 'read the passwords');
    await h.telegram.waitFor(
      () => h.telegram.sentTo(101).some((m) => m.text === 'refused, as expected'),
      20_000,
    );
    const results = toolResults(h.openai.requests[1]!.body);
    expect(results).toHaveLength(4);
    console.log(`refusals the model got:\n${results.join('\n')}`);
    for (const result of results) {
      expect(result).toMatch(/outside the project/);
      expect(result).not.toContain('root:');
    }
    expect(fs.existsSync('/etc/evil')).toBe(false);
  });

  it('bash gets neither secret in its environment, and the database folder is hidden', async () => {
    h.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: `env; ls -a ${path.dirname(h.dbPath)}` } }] },
      (req) => `env: ${toolResults(req)[0]}`,
    ]);
    await h.start(AGENT);
    h.telegram.pushMessage(101, 'show me your env');
    await h.telegram.waitFor(() => h.telegram.sentTo(101).some((m) => m.text.startsWith('env: ')), 20_000);
    const output = toolResults(h.openai.requests[1]!.body)[0]!;
    expect(output).toContain('HOME=');
    for (const secret of ['TELEGRAM_BOT_TOKEN', 'OPENAI_API_KEY', h.telegram.token, TEST_API_KEY]) {
      expect(output).not.toContain(secret);
    }
    if (bwrap) expect(output).not.toContain('agent.db');
  });

  (bwrap ? it : it.skip)(
    'with bwrap, bash cannot write outside the project nor open a TCP connection',
    async () => {
      // a folder that exists outside the sandbox and outside /tmp (the sandbox's /tmp is its own)
      const outside = fs.mkdtempSync('/var/tmp/autonous-escape-');
      const escape = path.join(outside, 'escape');
      const port = new URL(h.openai.url).port;
      h.openai.script([
        {
          toolCalls: [
            { name: 'bash', arguments: { command: `echo x > ${escape}; echo wrote-$?` } },
            {
              name: 'bash',
              arguments: {
                command: `(exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo TCP-OPEN || echo TCP-FAIL`,
              },
            },
            { name: 'bash', arguments: { command: 'echo inside > inside.txt' } },
          ],
        },
        'sandbox checked',
      ]);
      await h.start(AGENT);
      h.telegram.pushMessage(101, 'try to escape');
      await h.telegram.waitFor(
        () => h.telegram.sentTo(101).some((m) => m.text.startsWith('sandbox checked')),
        20_000,
      );
      const [write, tcp] = toolResults(h.openai.requests[1]!.body);
      // /var/tmp is not even mounted in the sandbox now (only system folders and the project are)
      expect(write).toMatch(/escape: No such file or directory/);
      expect(write).toContain('wrote-1');
      expect(fs.existsSync(escape)).toBe(false);
      expect(tcp).toContain('TCP-FAIL');
      expect(tcp).not.toContain('TCP-OPEN');
      expect(fs.readFileSync(path.join(project(), 'inside.txt'), 'utf8')).toBe('inside\n');
      fs.rmSync(outside, { recursive: true, force: true });
    },
  );

  it('/stop during `sleep 600`: the process group is gone within 2 s, the run cancelled, the status says so', async () => {
    const marker = `agent-stop-${process.pid}-${Date.now()}`;
    h.openai.script([
      {
        toolCalls: [
          { name: 'bash', arguments: { command: `sleep 600; echo ${marker}`, timeout_seconds: 600 } },
        ],
      },
    ]);
    await h.start(AGENT);
    h.telegram.pushMessage(101, 'wait ten minutes');
    await waitUntil(
      () => pidsWith(marker).length > 0,
      15_000,
      () => 'the command running',
    );
    // the status message exists once the first call ran
    await h.telegram.waitFor(() => h.telegram.sentTo(101).length === 1, 5000, 'the status message');
    const stopped = Date.now();
    h.telegram.pushMessage(101, '/stop');
    await waitUntil(
      () => pidsWith(marker).length === 0,
      2000,
      () => `still running: ${pidsWith(marker).join(',')}`,
    );
    const goneMs = Date.now() - stopped;
    await h.settled();
    expect(h.rows(`SELECT status FROM agent_runs`)).toEqual([{ status: 'cancelled' }]);
    expect(h.rows(`SELECT text, status, error FROM inbox WHERE lane = 'answer'`)).toEqual([
      { text: 'wait ten minutes', status: 'skipped', error: 'stopped by the user' },
    ]);
    await h.telegram.waitFor(
      () => h.telegram.sentTo(101).some((m) => m.text.startsWith('Cancelled (/stop)')),
      10_000,
      'the status saying cancelled',
    );
    expect(h.telegram.sentTo(101).map((m) => m.text.split('\n')[0])).toEqual([
      expect.stringMatching(/^Cancelled \(\/stop\) after 1 step, \d+ s$/),
      'Stopped the answer in progress.',
    ]);
    console.log(`process group gone ${goneMs} ms after /stop was pushed`);
    expect(h.openai.requests).toHaveLength(1);
    // the stopped run's model call still counts toward /usage and the daily limit
    const reported = h.openai.requests[0]!.response!.usage;
    expect(h.rows('SELECT prompt_tokens, completion_tokens FROM usage')).toEqual([
      { prompt_tokens: reported.promptTokens, completion_tokens: reported.completionTokens },
    ]);
  });

  it('a worker stopped past its grace during bash releases the message uncounted; the next start resumes the run', async () => {
    const marker = `agent-release-${process.pid}-${Date.now()}`;
    h.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: `sleep 600; echo ${marker}` } }] },
      (req) => `resumed with: ${toolResults(req).join(' | ')}`,
    ]);
    const first = await h.start(AGENT);
    h.telegram.pushMessage(101, 'wait ten minutes');
    await waitUntil(
      () => pidsWith(marker).length > 0,
      15_000,
      () => 'the command running',
    );
    await first.stop(200);
    // put back as it was before it was claimed; the run left to resume, not cancelled
    expect(h.rows(`SELECT status, attempts FROM inbox WHERE lane = 'answer'`)).toEqual([
      { status: 'queued', attempts: 0 },
    ]);
    expect(h.rows(`SELECT status FROM agent_runs`)).toEqual([{ status: 'running' }]);
    await h.start(AGENT);
    await h.telegram.waitFor(
      () => h.telegram.sentTo(101).some((m) => m.text.startsWith('resumed with')),
      20_000,
      'the resumed run',
    );
    // the row is marked done just after its reply is sent
    await h.settled();
    expect(h.rows(`SELECT status, attempts FROM inbox WHERE lane = 'answer'`)).toEqual([
      { status: 'done', attempts: 1 },
    ]);
    expect(h.rows(`SELECT status FROM agent_runs`)).toEqual([{ status: 'done' }]);
    expect(h.openai.requests).toHaveLength(2);
  });

  it('the heartbeat keeps beating while a command runs', async () => {
    h.openai.script([{ toolCalls: [{ name: 'bash', arguments: { command: 'sleep 4' } }] }, 'slept']);
    await h.start({ ...AGENT, WORKER_HEARTBEAT_SECONDS: '0.2' });
    h.telegram.pushMessage(101, 'sleep a while');
    await waitUntil(
      () => h.rows(`SELECT 1 FROM agent_steps WHERE tool = 'bash' AND status = 'running'`).length === 1,
      15_000,
      () => 'the command running',
    );
    const beats: number[] = [];
    while (h.rows(`SELECT 1 FROM agent_steps WHERE tool = 'bash' AND status = 'running'`).length === 1) {
      beats.push(
        h.rows(`SELECT heartbeat_at FROM supervisor_state WHERE name = 'worker-heartbeat'`)[0]!
          .heartbeat_at as number,
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    await h.telegram.waitFor(() => h.telegram.sentTo(101).some((m) => m.text === 'slept'), 10_000);
    const distinct = [...new Set(beats)];
    const gaps = distinct.slice(1).map((b, i) => b - distinct[i]!);
    console.log(`heartbeats during a 4 s command: ${distinct.length}, largest gap ${Math.max(...gaps)} ms`);
    expect(distinct.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...gaps)).toBeLessThan(1000);
  });

  it('a message that dies ends its run failed, not running', async () => {
    h.openai.failWhen(() => true, openAIErrors.invalidRequest());
    await h.start(AGENT);
    h.telegram.pushMessage(101, 'refused by the model');
    await waitUntil(
      () => h.rows(`SELECT 1 FROM inbox WHERE status = 'dead'`).length === 1,
      15_000,
      () => JSON.stringify(h.rows('SELECT status, attempts, error FROM inbox')),
    );
    expect(h.rows(`SELECT status, error FROM agent_runs`)).toEqual([
      { status: 'failed', error: 'its message is dead (out of attempts)' },
    ]);
  });

  it('a dead message retried (`queue retry`) goes on with its run and is answered', async () => {
    const off = h.openai.failWhen(() => true, openAIErrors.invalidRequest());
    await h.start(AGENT);
    h.telegram.pushMessage(101, 'retry me');
    await waitUntil(
      () => h.rows(`SELECT 1 FROM agent_runs WHERE status = 'failed'`).length === 1,
      15_000,
      () => JSON.stringify(h.rows('SELECT status, attempts FROM inbox')),
    );
    off();
    const id = h.rows(`SELECT id FROM inbox WHERE text = 'retry me'`)[0]!.id as number;
    const retry = await runCli(['queue', 'retry', String(id)], {
      HOME: path.dirname(h.dbPath),
      TG_DB_PATH: h.dbPath,
    });
    expect(retry.code).toBe(0);
    await h.telegram.waitFor(() => h.telegram.sentTo(101).some((m) => m.text === 'echo: retry me'), 20_000);
    expect(h.rows(`SELECT status, answer FROM agent_runs`)).toEqual([
      { status: 'done', answer: 'echo: retry me' },
    ]);
  });

  it('a run resumed after a kill during bash gives the model the interrupted result (journal seeded)', async () => {
    // the journal as a SIGKILL during `bash` leaves it: the call running, nobody suspended it
    await h.start(AGENT).then((w) => w.stop(1000));
    h.openai.script([(req) => `resumed with: ${toolResults(req).join(' | ')}`]);
    const db = new (await import('better-sqlite3')).default(h.dbPath);
    const now = Date.now();
    db.prepare(
      `INSERT INTO inbox (update_id, chat_id, message_id, kind, text, sent_at, status, attempts, received_at, available_at, started_at)
       VALUES (900, 101, 77, 'text', 'run the thing', ?, 'processing', 1, ?, ?, ?)`,
    ).run(Math.floor(now / 1000), now, now, now);
    const inboxId = (db.prepare('SELECT id FROM inbox WHERE update_id = 900').get() as { id: number }).id;
    const runId = Number(
      db
        .prepare(
          `INSERT INTO agent_runs (chat_id, inbox_id, project, status, started_at, steps) VALUES (101, ?, 'default', 'running', ?, 1)`,
        )
        .run(inboxId, now).lastInsertRowid,
    );
    const model = db
      .prepare(
        `INSERT INTO agent_steps (run_id, seq, kind, content, tool_calls, model, finish_reason, prompt_tokens, completion_tokens, cached_tokens, created_at)
         VALUES (?, 1, 'model', NULL, ?, 'gpt-4o-mini', 'tool_calls', 10, 5, 0, ?)`,
      )
      .run(
        runId,
        JSON.stringify([{ id: 'call_a', name: 'bash', arguments: '{"command":"sleep 5 && touch done"}' }]),
        now,
      );
    db.prepare(
      `INSERT INTO agent_steps (run_id, seq, kind, parent_id, tool_call_id, tool, arguments, status, started_at, created_at)
       VALUES (?, 2, 'tool', ?, 'call_a', 'bash', '{"command":"sleep 5 && touch done"}', 'running', ?, ?)`,
    ).run(runId, model.lastInsertRowid, now, now);
    db.close();
    await h.start(AGENT);
    await h.telegram.waitFor(
      () => h.telegram.sentTo(101).some((m) => m.text.startsWith('resumed with')),
      20_000,
    );
    // one answer, and the run's status message (it called a tool) shows the interrupted call
    const sent = h.telegram.sentTo(101).map((m) => m.text);
    expect(sent.filter((t) => t.startsWith('resumed with'))).toEqual([`resumed with: ${INTERRUPTED_RESULT}`]);
    expect(sent).toHaveLength(2);
    await h.telegram.waitFor(() => h.telegram.sentTo(101)[0]!.text.startsWith('Done'), 10_000, 'status done');
    expect(h.telegram.sentTo(101)[0]!.text).toMatch(/\n⚠ bash `sleep 5 && touch done`: interrupted$/);
    expect(h.openai.requests).toHaveLength(1);
    expect(fs.existsSync(path.join(project(), 'done'))).toBe(false);
    expect(h.rows(`SELECT status, resumes FROM agent_runs`)).toEqual([{ status: 'done', resumes: 1 }]);
  });
});
