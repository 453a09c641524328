import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DENIED_RESULT, EXPIRED_RESULT } from '../../src/agent/approval-policy';
import { projectPath } from '../../src/workspace/projects';
import type { ChatCompletionRequest, ChatMessage } from '../helpers/fake-openai';
import type { SentMessage } from '../helpers/fake-telegram';
import { tempDirs } from '../helpers/temp-dir';
import { waitUntil } from '../helpers/wait-until';
import { useWorkerHarness } from '../helpers/worker-harness';

// Issue 11's acceptance through the real worker: a scripted model (the fake OpenAI returns
// tool_calls), the real agent-run handler asking for approvals, presses delivered by the fake
// Telegram as callback_query updates, real files and a real git in the project folders.

jest.setTimeout(60_000);
const h = useWorkerHarness();
const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/** `on-risk` without bwrap: every `bash` asks. */
const UNSANDBOXED = { AGENT_APPROVAL: 'on-risk', AGENT_SANDBOX: 'off' };

function workspaces(): string {
  return path.join(path.dirname(h.dbPath), 'workspaces');
}

function project(name = 'default'): string {
  return path.join(workspaces(), name);
}

function toolResults(req: ChatCompletionRequest): string[] {
  return req.messages.filter((m: ChatMessage) => m.role === 'tool').map((m) => String(m.content));
}

/** The approval cards sent to a chat, in order (their text starts so, asked or decided). */
function cards(chatId = 101): SentMessage[] {
  return h.telegram.sentTo(chatId).filter((m) => /^Approval #\d+: /.test(m.text));
}

/** Waits for the n-th card (1-based) and returns it. */
async function nthCard(n: number, chatId = 101): Promise<SentMessage> {
  await h.telegram.waitFor(() => cards(chatId).length >= n, 15_000, `approval card ${n}`);
  return cards(chatId)[n - 1]!;
}

function buttons(card: SentMessage): { text: string; data: string }[] {
  return (h.telegram.message(card.chatId, card.messageId)?.keyboard ?? [])
    .flat()
    .map((b) => ({ text: b.text, data: String(b.callback_data) }));
}

/** The press of a card's button by its label, from `userId`. */
function press(card: SentMessage, label: string, userId = card.chatId): number {
  const button = buttons(card).find((b) => b.text === label);
  if (button === undefined) throw new Error(`card ${card.messageId} has no live "${label}" button`);
  h.telegram.pushCallbackQuery(card.chatId, userId, card.messageId, button.data);
  return Date.now();
}

function lines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

async function answered(prefix: string, chatId = 101): Promise<SentMessage> {
  await h.telegram.waitFor(
    () => h.telegram.sentTo(chatId).some((m) => m.text.startsWith(prefix)),
    20_000,
    `the answer "${prefix}…"`,
  );
  return h.telegram.sentTo(chatId).find((m) => m.text.startsWith(prefix))!;
}

/** Sends `text` and resolves with the bot's reply to it (not a run's status message meanwhile). */
async function reply(chatId: number, text: string): Promise<string> {
  const asked = h.telegram.pushMessage(chatId, text).message!.message_id;
  const answer = () => h.telegram.sentTo(chatId).find((m) => m.replyToMessageId === asked);
  await h.telegram.waitFor(() => answer() !== undefined, 8000, `a reply to ${text}`);
  return answer()!.text;
}

function git(root: string, ...args: string[]): string {
  return execFileSync('git', ['-C', root, '-c', 'user.name=me', '-c', 'user.email=me@x', ...args], {
    encoding: 'utf8',
  });
}

describe('on-risk without bwrap: every bash asks', () => {
  it('Allow once runs the command once; Allow for this run lets the identical call through without a card', async () => {
    const once = 'echo once >> once.log';
    const twice = 'echo again >> run.log';
    h.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: once } }] },
      { toolCalls: [{ name: 'bash', arguments: { command: twice } }] },
      { toolCalls: [{ name: 'bash', arguments: { command: twice } }] },
      (req) => `finished: ${toolResults(req).length} results`,
    ]);
    await h.start(UNSANDBOXED);
    h.telegram.pushMessage(101, 'append some lines');

    // the first card: the command, its folder, three buttons whose data fits in 64 bytes
    const first = await nthCard(1);
    expect(first.text).toContain(once);
    expect(first.text).toContain(`Folder: ${fs.realpathSync(project())}`);
    expect(first.text).toContain('WITHOUT the sandbox');
    expect(buttons(first).map((b) => b.text)).toEqual(['Allow once', 'Allow for this run', 'Deny']);
    for (const b of buttons(first)) expect(Buffer.byteLength(b.data, 'utf8')).toBeLessThanOrEqual(64);
    await h.telegram.waitFor(
      () => h.rows(`SELECT status FROM inbox WHERE lane = 'answer'`)[0]?.status === 'parked',
      5000,
      'the run parked',
    );
    expect(lines(path.join(project(), 'once.log'))).toEqual([]);
    expect(h.openai.requests).toHaveLength(1);

    const pressedAt = press(first, 'Allow once');
    await h.telegram.waitFor(() => h.telegram.callbackAnswers.length === 1, 5000, 'the press answered');
    const answeredMs = h.telegram.callbackAnswers[0]!.at - pressedAt;
    expect(h.telegram.callbackAnswers[0]!.text).toMatch(/^Approval #\d+: allowed once\.$/);
    await waitUntil(
      () => lines(path.join(project(), 'once.log')).length > 0,
      10_000,
      () => 'the command run after Allow once',
    );
    const ranMs = Date.now() - pressedAt;
    await h.telegram.waitFor(
      () => h.telegram.message(101, first.messageId)!.keyboard === undefined,
      5000,
      'the card edited without buttons',
    );
    expect(h.telegram.message(101, first.messageId)!.text).toMatch(/✅ Allowed once by user 101 at /);

    // the second call is a different command: its own card; Allow for this run
    const second = await nthCard(2);
    expect(second.text).toContain(twice);
    press(second, 'Allow for this run');
    const done = await answered('finished: ');
    expect(done.text.split('\n')[0]).toBe('finished: 3 results');
    await h.settled();

    // once.log has exactly one line; run.log two (the identical call ran without a card)
    expect(lines(path.join(project(), 'once.log'))).toEqual(['once']);
    expect(lines(path.join(project(), 'run.log'))).toEqual(['again', 'again']);
    expect(cards()).toHaveLength(2);
    for (const card of cards()) expect(h.telegram.message(101, card.messageId)!.keyboard).toBeUndefined();
    expect(h.telegram.message(101, second.messageId)!.text).toContain('✅ Allowed for this run by user 101');
    expect(h.rows('SELECT status, scope, decided_by AS by FROM agent_approvals ORDER BY id')).toEqual([
      { status: 'allowed', scope: 'once', by: 101 },
      { status: 'allowed', scope: 'run', by: 101 },
    ]);
    expect(h.rows(`SELECT status FROM agent_runs`)).toEqual([{ status: 'done' }]);
    expect(h.openai.requests).toHaveLength(4);
    console.log(
      `Allow once: press answered ${answeredMs} ms after the push, the command ran ${ranMs} ms after it`,
    );
  });

  it('Deny: nothing runs and the model is told', async () => {
    h.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: 'echo no >> denied.log' } }] },
      (req) => `the model was told: ${toolResults(req).at(-1)}`,
    ]);
    await h.start(UNSANDBOXED);
    h.telegram.pushMessage(101, 'try something');
    const card = await nthCard(1);
    press(card, 'Deny');
    const done = await answered('the model was told: ');
    expect(done.text.split('\n')[0]).toBe(`the model was told: ${DENIED_RESULT}`);
    expect(toolResults(h.openai.requests[1]!.body)).toEqual([DENIED_RESULT]);
    expect(h.telegram.callbackAnswers.map((a) => a.text)).toEqual([expect.stringMatching(/: denied\.$/)]);
    await h.telegram.waitFor(
      () => h.telegram.message(101, card.messageId)!.keyboard === undefined,
      5000,
      'the card edited',
    );
    expect(h.telegram.message(101, card.messageId)!.text).toContain('❌ Denied by user 101');
    expect(fs.existsSync(path.join(project(), 'denied.log'))).toBe(false);
    await h.settled();
    expect(h.rows(`SELECT status FROM agent_runs`)).toEqual([{ status: 'done' }]);
  });

  it('/stop while a run waits for approval: the run ends cancelled, the card loses its buttons, nothing runs', async () => {
    h.openai.script([{ toolCalls: [{ name: 'bash', arguments: { command: 'echo no >> stopped.log' } }] }]);
    await h.start(UNSANDBOXED);
    h.telegram.pushMessage(101, 'ask me first');
    const card = await nthCard(1);
    await h.telegram.waitFor(
      () => h.rows(`SELECT status FROM inbox WHERE lane = 'answer'`)[0]?.status === 'parked',
      5000,
      'the run parked',
    );
    expect(await reply(101, '/stop')).toBe('Stopped 1 waiting message.');
    await h.telegram.waitFor(
      () => h.telegram.message(101, card.messageId)!.keyboard === undefined,
      5000,
      'the card without buttons',
    );
    expect(h.rows(`SELECT status FROM agent_runs`)).toEqual([{ status: 'cancelled' }]);
    expect(h.rows(`SELECT status, error FROM inbox WHERE lane = 'answer'`)).toEqual([
      { status: 'skipped', error: 'stopped by the user' },
    ]);
    expect(h.rows(`SELECT status FROM agent_approvals`)).toEqual([{ status: 'expired' }]);
    expect(lines(path.join(project(), 'stopped.log'))).toEqual([]);
    expect(h.openai.requests).toHaveLength(1);
  });

  it('two bash calls in one response: a card for each in turn, each decided on its own', async () => {
    h.openai.script([
      {
        toolCalls: [
          { name: 'bash', arguments: { command: 'echo first >> first.log' } },
          { name: 'bash', arguments: { command: 'echo second >> second.log' } },
        ],
      },
      (req) =>
        `results: ${toolResults(req)
          .map((r) => r.split('\n')[0])
          .join(' | ')}`,
    ]);
    await h.start(UNSANDBOXED);
    h.telegram.pushMessage(101, 'two commands');
    const first = await nthCard(1);
    expect(first.text).toContain('echo first');
    press(first, 'Allow once');
    const second = await nthCard(2);
    expect(second.text).toContain('echo second');
    expect(lines(path.join(project(), 'first.log'))).toEqual(['first']);
    press(second, 'Deny');
    const done = await answered('results: ');
    expect(done.text.split('\n')[0]).toMatch(
      new RegExp(`^results: exit code 0 after .* \\(unsandboxed\\) \\| ${DENIED_RESULT}$`),
    );
    expect(fs.existsSync(path.join(project(), 'second.log'))).toBe(false);
    expect(lines(path.join(project(), 'first.log'))).toEqual(['first']);
    expect(h.openai.requests).toHaveLength(2);
    for (const card of cards()) expect(h.telegram.message(101, card.messageId)!.keyboard).toBeUndefined();
  });

  it('a press from someone who is not an approver is answered and changes nothing', async () => {
    h.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: 'echo yes >> ok.log' } }] },
      (req) => `result: ${toolResults(req).at(-1)!.split('\n')[0]}`,
    ]);
    await h.start({ ...UNSANDBOXED, AGENT_APPROVERS: '101' });
    h.telegram.pushMessage(101, 'run it');
    const card = await nthCard(1);
    press(card, 'Allow once', 102);
    await h.telegram.waitFor(() => h.telegram.callbackAnswers.length === 1, 5000, 'the press answered');
    expect(h.telegram.callbackAnswers[0]!.text).toContain('Not yours to approve');
    await waitUntil(
      () => h.rows(`SELECT 1 FROM inbox WHERE kind = 'callback_query' AND status = 'skipped'`).length === 1,
      5000,
      () => JSON.stringify(h.rows('SELECT kind, status FROM inbox')),
    );
    // nothing changed: pending, three live buttons, the run still parked, nothing ran, no edit
    expect(h.rows('SELECT status, decided_by AS by FROM agent_approvals')).toEqual([
      { status: 'pending', by: null },
    ]);
    expect(buttons(card)).toHaveLength(3);
    expect(h.telegram.edits.filter((e) => e.messageId === card.messageId)).toHaveLength(0);
    expect(h.rows(`SELECT status FROM inbox WHERE lane = 'answer'`)).toEqual([{ status: 'parked' }]);
    expect(fs.existsSync(path.join(project(), 'ok.log'))).toBe(false);
    expect(h.openai.requests).toHaveLength(1);

    // the approver's press still decides it
    press(card, 'Allow once', 101);
    await answered('result: ');
    expect(lines(path.join(project(), 'ok.log'))).toEqual(['yes']);
  });

  it('nobody decides in time: denied, the card says expired, the run finishes with the model told', async () => {
    h.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: 'echo late >> late.log' } }] },
      (req) => `after expiry: ${toolResults(req).at(-1)}`,
    ]);
    await h.start({ ...UNSANDBOXED, AGENT_APPROVAL_TIMEOUT_SECONDS: '1' });
    h.telegram.pushMessage(101, 'do it later');
    const card = await nthCard(1);
    const askedAt = card.at;
    const done = await answered('after expiry: ');
    const finishedMs = done.at - askedAt;
    expect(done.text.split('\n')[0]).toBe(`after expiry: ${EXPIRED_RESULT}`);
    await h.telegram.waitFor(
      () => h.telegram.message(101, card.messageId)!.keyboard === undefined,
      5000,
      'the card edited',
    );
    expect(h.telegram.message(101, card.messageId)!.text).toMatch(/⌛ Expired at .*so it was denied/);
    expect(h.rows('SELECT status, decided_by AS by FROM agent_approvals')).toEqual([
      { status: 'expired', by: null },
    ]);
    expect(fs.existsSync(path.join(project(), 'late.log'))).toBe(false);
    await h.settled();
    expect(h.rows(`SELECT status FROM agent_runs`)).toEqual([{ status: 'done' }]);
    console.log(`expiry of 1 s: the run finished ${finishedMs} ms after its card was sent`);
  });
});

describe('on-risk without bwrap: an approval covers the files the command runs', () => {
  const MAKEFILE = 'test:\n\techo good >> ran.log\n';
  const REWRITTEN = 'test:\n\techo evil >> ran.log\n';

  async function projectWithMakefile(): Promise<string> {
    const root = await projectPath(workspaces(), 'default');
    fs.writeFileSync(path.join(root, 'Makefile'), MAKEFILE);
    return root;
  }

  it('Allow for this run lapses once the run rewrites the Makefile: the same command is asked again, naming the file', async () => {
    const root = await projectWithMakefile();
    h.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: 'make test' } }] },
      { toolCalls: [{ name: 'write', arguments: { path: 'Makefile', content: REWRITTEN } }] },
      { toolCalls: [{ name: 'bash', arguments: { command: 'make test' } }] },
      (req) => `finished: ${toolResults(req).length} results`,
    ]);
    await h.start(UNSANDBOXED);
    h.telegram.pushMessage(101, 'run the tests');

    const first = await nthCard(1);
    expect(first.text).toContain('make test');
    expect(first.text).not.toContain('Files ');
    press(first, 'Allow for this run');

    // the write is not asked (one file, in git); the identical command after it is
    const second = await nthCard(2);
    expect(second.text).toContain('\nmake test\n');
    expect(second.text).toContain('Files changed since the last approval: Makefile');
    await h.telegram.waitFor(
      () => h.rows(`SELECT status FROM inbox WHERE lane = 'answer'`)[0]?.status === 'parked',
      5000,
      'the run parked',
    );
    expect(fs.readFileSync(path.join(root, 'Makefile'), 'utf8')).toBe(REWRITTEN);
    expect(lines(path.join(root, 'ran.log'))).toEqual(['good']);

    press(second, 'Allow once');
    const done = await answered('finished: ');
    expect(done.text.split('\n')[0]).toBe('finished: 3 results');
    expect(lines(path.join(root, 'ran.log'))).toEqual(['good', 'evil']);
    expect(h.rows('SELECT tool, status, scope FROM agent_approvals ORDER BY id')).toEqual([
      { tool: 'bash', status: 'allowed', scope: 'run' },
      { tool: 'bash', status: 'allowed', scope: 'once' },
    ]);
  });

  it('Allow for this run still covers the identical command when no file changed in between', async () => {
    const root = await projectWithMakefile();
    h.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: 'make test' } }] },
      { toolCalls: [{ name: 'read', arguments: { path: 'Makefile' } }] },
      { toolCalls: [{ name: 'bash', arguments: { command: 'make test' } }] },
      (req) => `finished: ${toolResults(req).length} results`,
    ]);
    await h.start(UNSANDBOXED);
    h.telegram.pushMessage(101, 'run the tests twice');
    press(await nthCard(1), 'Allow for this run');
    const done = await answered('finished: ');
    expect(done.text.split('\n')[0]).toBe('finished: 3 results');
    expect(lines(path.join(root, 'ran.log'))).toEqual(['good', 'good']);
    expect(cards()).toHaveLength(1);
    expect(h.rows('SELECT status, scope FROM agent_approvals')).toEqual([
      { status: 'allowed', scope: 'run' },
    ]);
  });
});

describe('projects and undo', () => {
  it('/project a, /project b: each run writes in its own folder; a path not listed is refused', async () => {
    const listed = dirs.make();
    const unlisted = dirs.make();
    h.openai.script([
      { toolCalls: [{ name: 'write', arguments: { path: 'where.txt', content: 'in a\n' } }] },
      'wrote in a',
      { toolCalls: [{ name: 'write', arguments: { path: 'where.txt', content: 'in b\n' } }] },
      'wrote in b',
    ]);
    await h.start({ AGENT_PROJECTS: `site=${listed}` });
    expect(await reply(101, '/project a')).toContain('Switched to project a');
    h.telegram.pushMessage(101, 'write where you are');
    await answered('wrote in a');
    expect(await reply(101, '/project b')).toContain('Switched to project b');
    h.telegram.pushMessage(101, 'write where you are now');
    await answered('wrote in b');
    await h.settled();
    expect(fs.readFileSync(path.join(project('a'), 'where.txt'), 'utf8')).toBe('in a\n');
    expect(fs.readFileSync(path.join(project('b'), 'where.txt'), 'utf8')).toBe('in b\n');
    expect(fs.existsSync(path.join(project(), 'where.txt'))).toBe(false);
    expect(h.rows('SELECT project FROM agent_runs ORDER BY id')).toEqual([
      { project: 'a' },
      { project: 'b' },
    ]);
    // each run is one commit in its own project
    expect(git(project('a'), 'log', '--format=%an|%s')).toBe('autonous|autonous: write where you are\n');
    expect(git(project('b'), 'log', '--format=%an|%s')).toBe('autonous|autonous: write where you are now\n');

    // a folder the operator did not list is refused and the current project stays
    expect(await reply(101, `/project ${unlisted}`)).toContain(
      'is a project only when the operator lists it in AGENT_PROJECTS',
    );
    expect(await reply(101, '/project')).toContain('Current project: b');
    expect(fs.readdirSync(unlisted)).toEqual([]);
    expect(await reply(101, '/project site')).toBe(`Switched to project site (${listed}).`);
  });

  it("a run editing two files is one commit; /undo reverts it; the person's uncommitted edit is kept throughout", async () => {
    const root = await projectPath(workspaces(), 'default');
    fs.writeFileSync(path.join(root, 'a.txt'), 'one\n');
    fs.writeFileSync(path.join(root, 'mine.txt'), 'mine\n');
    git(root, 'add', '-A');
    git(root, 'commit', '-qm', 'before autonous');
    const base = git(root, 'rev-parse', 'HEAD').trim();
    // the person's work, not committed: a changed file and a new one
    fs.writeFileSync(path.join(root, 'mine.txt'), 'mine\nmy uncommitted edit\n');
    fs.writeFileSync(path.join(root, 'scratch.txt'), 'my notes\n');
    const personStatus = git(root, 'status', '--porcelain');
    expect(personStatus).toBe(' M mine.txt\n?? scratch.txt\n');

    h.openai.script([
      {
        toolCalls: [
          { name: 'edit', arguments: { path: 'a.txt', old_text: 'one', new_text: 'two' } },
          { name: 'write', arguments: { path: 'b.txt', content: 'new file\n' } },
        ],
      },
      'changed two files',
    ]);
    await h.start({ AGENT_APPROVAL: 'on-risk' });
    h.telegram.pushMessage(101, 'change two files\nplease, and tell me');
    const done = await answered('changed two files');
    expect(done.text).toMatch(
      /\n\nCommitted the run's changes \(2 files\) as [0-9a-f]{8}: \/diff shows them, \/undo reverts them\.$/,
    );
    await h.settled();

    // one commit on top of the person's, by autonous, named after the request's first line
    expect(git(root, 'log', '--format=%an|%s', `${base}..HEAD`)).toBe(
      'autonous|autonous: change two files\n',
    );
    expect(git(root, 'show', '--name-only', '--format=', 'HEAD')).toBe('a.txt\nb.txt\n');
    expect(fs.readFileSync(path.join(root, 'a.txt'), 'utf8')).toBe('two\n');
    expect(fs.readFileSync(path.join(root, 'b.txt'), 'utf8')).toBe('new file\n');
    expect(git(root, 'status', '--porcelain')).toBe(personStatus);
    expect(fs.readFileSync(path.join(root, 'mine.txt'), 'utf8')).toBe('mine\nmy uncommitted edit\n');
    expect(fs.readFileSync(path.join(root, 'scratch.txt'), 'utf8')).toBe('my notes\n');

    const undone = await reply(101, '/undo');
    expect(undone).toMatch(
      /^Undid autonous: change two files \([0-9a-f]{8}\) in project default with a new commit/,
    );
    // a new commit on top (nothing is lost), by autonous, whose diff is the run's reversed
    expect(git(root, 'log', '--format=%an|%s', `${base}..HEAD`)).toBe(
      'autonous|Undo "autonous: change two files"\nautonous|autonous: change two files\n',
    );
    expect(fs.readFileSync(path.join(root, 'a.txt'), 'utf8')).toBe('one\n');
    expect(fs.existsSync(path.join(root, 'b.txt'))).toBe(false);
    expect(git(root, 'diff', base, 'HEAD')).toBe('');
    expect(git(root, 'status', '--porcelain')).toBe(personStatus);
    expect(fs.readFileSync(path.join(root, 'mine.txt'), 'utf8')).toBe('mine\nmy uncommitted edit\n');
    expect(fs.readFileSync(path.join(root, 'scratch.txt'), 'utf8')).toBe('my notes\n');
  });

  it("the person's uncommitted edit in a file the run also edits stays uncommitted, after the run and after /undo", async () => {
    const root = await projectPath(workspaces(), 'default');
    fs.writeFileSync(path.join(root, 'shared.txt'), 'top\nmiddle\n\n\n\nbottom\n');
    git(root, 'add', '-A');
    git(root, 'commit', '-qm', 'before autonous');
    const base = git(root, 'rev-parse', 'HEAD').trim();
    fs.writeFileSync(path.join(root, 'shared.txt'), 'top, edited by me\nmiddle\n\n\n\nbottom\n');

    h.openai.script([
      {
        toolCalls: [
          { name: 'edit', arguments: { path: 'shared.txt', old_text: 'bottom', new_text: 'BOTTOM' } },
        ],
      },
      { toolCalls: [{ name: 'write', arguments: { path: 'other.txt', content: 'other\n' } }] },
      'edited the bottom',
    ]);
    await h.start({ AGENT_APPROVAL: 'on-risk' });
    h.telegram.pushMessage(101, 'shout the bottom line');
    await answered('edited the bottom');
    await h.settled();
    const both = 'top, edited by me\nmiddle\n\n\n\nBOTTOM\n';
    expect(fs.readFileSync(path.join(root, 'shared.txt'), 'utf8')).toBe(both);
    // the commit holds the run's line only; the person's stays a working-tree change
    expect(git(root, 'show', 'HEAD:shared.txt')).toBe('top\nmiddle\n\n\n\nBOTTOM\n');
    expect(git(root, 'status', '--porcelain')).toBe(' M shared.txt\n');
    expect(git(root, 'log', '--format=%an|%s', `${base}..HEAD`)).toBe(
      'autonous|autonous: shout the bottom line\n',
    );

    expect(await reply(101, '/undo')).toMatch(/^Undid autonous: shout the bottom line/);
    expect(fs.readFileSync(path.join(root, 'shared.txt'), 'utf8')).toBe(
      'top, edited by me\nmiddle\n\n\n\nbottom\n',
    );
    expect(fs.existsSync(path.join(root, 'other.txt'))).toBe(false);
    expect(git(root, 'diff', base, 'HEAD')).toBe('');
    expect(git(root, 'status', '--porcelain')).toBe(' M shared.txt\n');
  });
});
