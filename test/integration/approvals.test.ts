import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { callHash } from '../../src/agent/approval-policy';
import { describeCall } from '../../src/agent/describe-call';
import { createTools } from '../../src/agent/tools';
import { openDatabase } from '../../src/db/open';
import { createSqliteJournal } from '../../src/queue/agent/sqlite-journal';
import { PARKED_FOREVER } from '../../src/queue/park';
import { sqliteApprovalStore } from '../../src/queue/agent/approval-store';
import { createApprovalPort } from '../../src/worker/approvals/approval-port';
import { checkpointRun, commitRunChanges } from '../../src/worker/approvals/run-commit';
import { TelegramClient } from '../../src/worker/telegram/client';
import { projectPath } from '../../src/workspace/projects';
import { decideSandbox } from '../../src/workspace/sandbox';
import { tempDirs } from '../helpers/temp-dir';
import { captureLog, useWorkerHarness } from '../helpers/worker-harness';

// Approvals, projects and undo through the real worker: the fake Telegram delivers presses and
// commands, the worker's control lane decides, edits the card and wakes the parked item. The
// pending approvals are made the way a run makes them (the journal's askApproval, the real
// approval port sending the card) on an inbox item parked as the agent-run handler parks it.

const h = useWorkerHarness();
const dirs = tempDirs();
afterAll(() => dirs.cleanup());

let updateSeq = 0;

const TOOLS = createTools({ sandbox: decideSandbox('off', null) });

interface Seeded {
  readonly approvalId: number;
  readonly inboxId: number;
  readonly cardId: number;
}

/** A run parked on a pending approval of `tool(args)`, its card sent to the fake Telegram. */
async function seedPendingApproval(
  options: { chatId?: number; tool?: string; args?: unknown; expiresInMs?: number; root?: string } = {},
): Promise<Seeded> {
  const chatId = options.chatId ?? 101;
  const tool = options.tool ?? 'bash';
  const args = options.args ?? { command: 'touch done' };
  const db = openDatabase(h.dbPath);
  try {
    const { sqlite } = db;
    const now = Date.now();
    const { id: inboxId } = sqlite
      .prepare(
        `INSERT INTO inbox (update_id, chat_id, message_id, kind, text, lane, from_id, status, available_at, received_at)
         VALUES (?, ?, 1, 'text', 'please run it', 'answer', ?, 'parked', ?, ?) RETURNING id`,
      )
      .get(-++updateSeq, chatId, chatId, PARKED_FOREVER, now) as { id: number };
    const journal = createSqliteJournal(sqlite);
    const run = journal.begin({ inboxId, chatId, project: 'default', message: 'do it' }, now);
    const toolCall = { id: 'call_1', name: tool, arguments: JSON.stringify(args) };
    const { tools } = journal.recordModel(
      run.id,
      {
        content: null,
        toolCalls: [toolCall],
        usage: { promptTokens: 1, completionTokens: 1, cachedTokens: 0 },
        model: 'scripted',
        finishReason: 'tool_calls',
      },
      now,
    );
    const step = tools[0]!;
    const approval = journal.askApproval(
      {
        runId: run.id,
        stepId: step.id,
        toolCallId: 'call_1',
        tool,
        callHash: callHash(tool, args),
        chatId,
        expiresAt: now + (options.expiresInMs ?? 1800_000),
      },
      now,
    );
    journal.park(run.id, now);
    const port = createApprovalPort({
      approvals: sqliteApprovalStore(sqlite),
      telegram: new TelegramClient(h.telegram.token, h.telegram.url),
      log: captureLog(),
      now: Date.now,
      root: options.root ?? dirs.make(),
    });
    // what the loop tells the port: the tool's own facts, as without the sandbox
    const real = TOOLS.find((t) => t.name === tool);
    await port({
      approval,
      call: {
        stepId: step.id,
        toolCallId: 'call_1',
        name: tool,
        args,
        description: describeCall(real, tool, args),
      },
      kind: real?.kind ?? 'run',
      risks: real?.risks(args, { sandboxed: false }) ?? [],
      changed: { since: 'run-start', files: [] },
    });
    const card = sqlite
      .prepare('SELECT card_message_id AS id FROM agent_approvals WHERE id = ?')
      .get(approval.id) as {
      id: number;
    };
    return { approvalId: approval.id, inboxId, cardId: card.id };
  } finally {
    db.close();
  }
}

function approvalRow(id: number): Record<string, unknown> {
  return h.rows(
    'SELECT status, scope, decided_by AS decidedBy, decided_at AS decidedAt FROM agent_approvals WHERE id = ?',
    id,
  )[0]!;
}

function inboxStatus(id: number): unknown {
  return h.rows('SELECT status FROM inbox WHERE id = ?', id)[0]?.status;
}

function buttonData(chatId: number, messageId: number): string[] {
  return (h.telegram.message(chatId, messageId)?.keyboard ?? []).flat().map((b) => String(b.callback_data));
}

async function waitForAnswers(n: number): Promise<void> {
  await h.telegram.waitFor(() => h.telegram.callbackAnswers.length >= n, 5000, `${n} press answers`);
}

/** Sends `text` and resolves with the bot's reply to it (not a run's status message meanwhile). */
async function reply(chatId: number, text: string): Promise<string> {
  const asked = h.telegram.pushMessage(chatId, text).message!.message_id;
  const answer = () => h.telegram.sentTo(chatId).find((m) => m.replyToMessageId === asked);
  await h.telegram.waitFor(() => answer() !== undefined, 8000, `a reply to ${text}`);
  return answer()!.text;
}

describe('approval cards and presses', () => {
  it('Allow once: decided once, the press answered, the card edited without buttons, the run woken', async () => {
    await h.start();
    const seeded = await seedPendingApproval();
    const card = h.telegram.message(101, seeded.cardId)!;
    expect(card.text).toContain('touch done');
    expect(card.text).toContain('WITHOUT the sandbox');
    expect(buttonData(101, seeded.cardId)).toEqual([
      `ap:${seeded.approvalId}:o`,
      `ap:${seeded.approvalId}:r`,
      `ap:${seeded.approvalId}:d`,
    ]);

    h.telegram.pushCallbackQuery(101, 101, seeded.cardId, `ap:${seeded.approvalId}:o`);
    await waitForAnswers(1);
    expect(h.telegram.callbackAnswers[0]!.text).toBe(`Approval #${seeded.approvalId}: allowed once.`);
    await h.telegram.waitFor(
      () => h.telegram.message(101, seeded.cardId)!.keyboard === undefined,
      5000,
      'the edit',
    );
    expect(h.telegram.message(101, seeded.cardId)!.text).toMatch(
      /✅ Allowed once by user 101 at \d{4}-\d\d-\d\d \d\d:\d\d UTC\./,
    );
    expect(approvalRow(seeded.approvalId)).toMatchObject({
      status: 'allowed',
      scope: 'once',
      decidedBy: 101,
    });
    // the parked item went back to work (here the plain chat handler answers it)
    await h.settled();
    expect(inboxStatus(seeded.inboxId)).toBe('done');

    // a second press on the decided card: answered, nothing else changes
    const decided = approvalRow(seeded.approvalId);
    const edits = h.telegram.edits.length;
    h.telegram.pushCallbackQuery(101, 102, seeded.cardId, `ap:${seeded.approvalId}:d`);
    await waitForAnswers(2);
    expect(h.telegram.callbackAnswers[1]!.text).toBe(
      `Approval #${seeded.approvalId} was already decided: allowed once.`,
    );
    await h.settled();
    expect(approvalRow(seeded.approvalId)).toEqual(decided);
    expect(h.telegram.edits.length).toBe(edits);
    expect(h.rows('SELECT count(*) AS n FROM agent_approvals')[0]!.n).toBe(1);
  });

  it('a press from someone who is not an approver is answered and changes nothing', async () => {
    await h.start({ AGENT_APPROVERS: '101' });
    const seeded = await seedPendingApproval();
    h.telegram.pushCallbackQuery(101, 102, seeded.cardId, `ap:${seeded.approvalId}:o`);
    await waitForAnswers(1);
    expect(h.telegram.callbackAnswers[0]!.text).toContain('Not yours to approve');
    await h.settled();
    expect(approvalRow(seeded.approvalId)).toMatchObject({ status: 'pending', decidedBy: null });
    expect(buttonData(101, seeded.cardId)).toHaveLength(3);
    expect(h.telegram.edits).toHaveLength(0);
    expect(inboxStatus(seeded.inboxId)).toBe('parked');
  });

  it('Deny and Allow for this run by text: /deny ID, /approve ID run', async () => {
    await h.start();
    const a = await seedPendingApproval();
    const b = await seedPendingApproval({ chatId: 102 });
    expect(await reply(101, `/deny ${a.approvalId}`)).toBe(`Approval #${a.approvalId}: denied.`);
    expect(approvalRow(a.approvalId)).toMatchObject({ status: 'denied', scope: null, decidedBy: 101 });
    await h.telegram.waitFor(
      () => h.telegram.message(101, a.cardId)!.keyboard === undefined,
      5000,
      'the edit',
    );
    expect(h.telegram.message(101, a.cardId)!.text).toContain('❌ Denied by user 101');
    // an approval of another chat is not decided here
    expect(await reply(101, `/approve ${b.approvalId}`)).toBe(
      `There is no approval #${b.approvalId} in this chat.`,
    );
    expect(await reply(102, `/approve ${b.approvalId} run`)).toBe(
      `Approval #${b.approvalId}: allowed for this run.`,
    );
    expect(approvalRow(b.approvalId)).toMatchObject({ status: 'allowed', scope: 'run', decidedBy: 102 });
    expect(await reply(101, '/approve')).toContain('Use /approve ID');
  });

  it('an approval nobody decides expires: the card says so, without buttons, and the run is woken', async () => {
    // made before the worker starts: the sweeper's start finds it and waits for its expiry
    const seeded = await seedPendingApproval({ expiresInMs: 1500 });
    const stale = await seedPendingApproval({ expiresInMs: -1000 });
    await h.start();
    await h.telegram.waitFor(
      () => h.telegram.message(101, stale.cardId)!.keyboard === undefined,
      5000,
      'the card that expired while the worker was down',
    );
    expect(approvalRow(seeded.approvalId).status).toBe('pending');
    await h.telegram.waitFor(
      () => h.telegram.message(101, seeded.cardId)!.keyboard === undefined,
      8000,
      'expiry',
    );
    expect(h.telegram.message(101, seeded.cardId)!.text).toContain('⌛ Expired at');
    expect(approvalRow(seeded.approvalId)).toMatchObject({ status: 'expired', decidedBy: null });
    await h.settled();
    expect(inboxStatus(seeded.inboxId)).toBe('done');
    expect(inboxStatus(stale.inboxId)).toBe('done');
    // a late press is answered and changes nothing
    h.telegram.pushCallbackQuery(101, 101, seeded.cardId, `ap:${seeded.approvalId}:o`);
    await waitForAnswers(1);
    expect(h.telegram.callbackAnswers[0]!.text).toContain('expired');
    expect(approvalRow(seeded.approvalId).status).toBe('expired');
  });

  it('a press that arrives while the worker is stopped is decided after it starts', async () => {
    const first = await h.start();
    await reply(101, '/help'); // the offset is stored: the next start is not a cold start
    const seeded = await seedPendingApproval();
    await first.stop(1000);
    h.telegram.pushCallbackQuery(101, 101, seeded.cardId, `ap:${seeded.approvalId}:r`);
    expect(approvalRow(seeded.approvalId).status).toBe('pending');
    await h.start();
    await waitForAnswers(1);
    await h.settled();
    expect(approvalRow(seeded.approvalId)).toMatchObject({ status: 'allowed', scope: 'run', decidedBy: 101 });
    expect(h.telegram.message(101, seeded.cardId)!.keyboard).toBeUndefined();
    expect(inboxStatus(seeded.inboxId)).toBe('done');
  });

  it('a press on a button that is not an approval is answered and skipped', async () => {
    await h.start();
    await reply(101, '/help');
    h.telegram.pushCallbackQuery(101, 101, h.telegram.sentTo(101)[0]!.messageId, 'something:else');
    await waitForAnswers(1);
    expect(h.telegram.callbackAnswers[0]!.text).toBe('This button does nothing now.');
    await h.settled();
    expect(h.rows(`SELECT status FROM inbox WHERE kind = 'callback_query'`)).toEqual([{ status: 'skipped' }]);
  });

  it('a write card shows the diff against the file on disk', async () => {
    const root = dirs.make();
    fs.writeFileSync(path.join(root, 'notes.txt'), 'alpha\nbeta\n');
    await h.start();
    const seeded = await seedPendingApproval({
      tool: 'write',
      args: { path: 'notes.txt', content: 'alpha\ngamma\n' },
      root,
    });
    const text = h.telegram.message(101, seeded.cardId)!.text;
    expect(text).toContain('wants to write notes.txt');
    expect(text).toContain('--- a/notes.txt\n+++ b/notes.txt\n@@ -1,2 +1,2 @@\n alpha\n-beta\n+gamma');
    expect(h.telegram.documents).toHaveLength(0);
  });

  it('a write card whose diff does not fit attaches the whole diff', async () => {
    const root = dirs.make();
    await h.start();
    const content = Array.from({ length: 800 }, (_, i) => `line ${i}`).join('\n');
    const seeded = await seedPendingApproval({ tool: 'write', args: { path: 'big.txt', content }, root });
    expect(h.telegram.message(101, seeded.cardId)!.text.length).toBeLessThanOrEqual(4096);
    await h.telegram.waitFor(() => h.telegram.documents.length === 1, 5000, 'the attached diff');
    const doc = h.telegram.documents[0]!;
    expect(doc.filename).toBe('big.txt.diff');
    expect(doc.replyToMessageId).toBe(seeded.cardId);
    expect(doc.content.toString('utf8')).toContain('+line 799');
  });
});

describe('projects', () => {
  it('/project lists and switches, creating new projects; a path not listed is refused', async () => {
    const listed = dirs.make();
    await h.start({ AGENT_PROJECTS: `site=${listed}` });
    const workspaces = path.join(path.dirname(h.dbPath), 'workspaces');
    const first = await reply(101, '/project');
    expect(first).toContain(`Current project: default (${path.join(workspaces, 'default')})`);
    expect(first).toContain('Projects: default, site (listed by the operator)');

    expect(await reply(101, '/project a')).toContain('Switched to project a');
    expect(fs.existsSync(path.join(workspaces, 'a', '.git'))).toBe(true);
    expect(await reply(101, '/project b')).toContain('new: an empty git repository');
    expect(fs.existsSync(path.join(workspaces, 'b', '.git'))).toBe(true);
    expect(await reply(101, '/project')).toContain('Current project: b');
    expect(await reply(102, '/project')).toContain('Current project: default');

    expect(await reply(101, '/project /etc')).toContain(
      'is a project only when the operator lists it in AGENT_PROJECTS',
    );
    expect(await reply(101, '/project Bad_Name')).toContain('cannot be a project name');
    expect(await reply(101, '/project')).toContain('Current project: b');

    expect(await reply(101, '/project site')).toBe(`Switched to project site (${listed}).`);
    expect(h.rows(`SELECT value FROM kv WHERE key = 'chat_project:101'`)).toEqual([{ value: 'site' }]);
  });
});

describe('/diff and /undo', () => {
  function git(root: string, ...args: string[]): string {
    return execFileSync('git', ['-C', root, '-c', 'user.name=me', '-c', 'user.email=me@x', ...args], {
      encoding: 'utf8',
    });
  }

  it("shows the last run's diff and reverts it, keeping the person's uncommitted edit", async () => {
    await h.start();
    expect(await reply(101, '/undo')).toContain('Nothing to undo');
    expect(await reply(101, '/diff')).toBe('No run of autonous has changed project default yet.');

    const root = await projectPath(path.join(path.dirname(h.dbPath), 'workspaces'), 'default');
    fs.writeFileSync(path.join(root, 'a.txt'), 'one\n');
    fs.writeFileSync(path.join(root, 'b.txt'), 'keep\n');
    git(root, 'add', '-A');
    git(root, 'commit', '-qm', 'mine');
    fs.writeFileSync(path.join(root, 'b.txt'), 'keep\nmy edit\n'); // uncommitted, the person's

    // a run-like change through the glue the agent-run handler calls
    const db = openDatabase(h.dbPath);
    try {
      // the checkpoint is kept with the item's run: an item already answered, and its run
      db.sqlite
        .prepare(
          `INSERT INTO inbox (id, update_id, chat_id, kind, text, status, available_at, received_at)
           VALUES (999, 999999, 101, 'text', 'make it two', 'done', 0, 0)`,
        )
        .run();
      const run = createSqliteJournal(db.sqlite).begin(
        { inboxId: 999, chatId: 101, project: 'default', message: 'do it' },
        0,
      );
      const cp = await checkpointRun(db.sqlite, 999, root, {});
      expect(await checkpointRun(db.sqlite, 999, root, {})).toEqual(cp); // reused
      expect(db.sqlite.prepare('SELECT checkpoint FROM agent_runs WHERE id = ?').get(run.id)).toEqual({
        checkpoint: JSON.stringify(cp),
      });
      fs.writeFileSync(path.join(root, 'a.txt'), 'two\n');
      fs.writeFileSync(path.join(root, 'c.txt'), 'new\n');
      const commit = await commitRunChanges(db.sqlite, 999, root, 'make it two\nplease', {});
      expect(commit?.files).toEqual(['a.txt', 'c.txt']);
      expect(await commitRunChanges(db.sqlite, 999, root, 'again', {})).toBeNull();
      expect(db.sqlite.prepare('SELECT checkpoint FROM agent_runs WHERE id = ?').get(run.id)).toEqual({
        checkpoint: null,
      });
    } finally {
      db.close();
    }
    expect(git(root, 'status', '--porcelain')).toBe(' M b.txt\n');

    const diff = await reply(101, '/diff');
    expect(diff).toContain('Last run in project default: autonous: make it two (');
    expect(diff).toContain('a.txt');
    expect(diff).toContain('c.txt');
    await h.telegram.waitFor(() => h.telegram.documents.length === 1, 5000, 'the diff document');
    expect(h.telegram.documents[0]!.content.toString('utf8')).toContain('+two');

    const undone = await reply(101, '/undo');
    expect(undone).toMatch(
      /^Undid autonous: make it two \([0-9a-f]{8}\) in project default with a new commit [0-9a-f]{8}; files: a.txt, c.txt\./,
    );
    expect(fs.readFileSync(path.join(root, 'a.txt'), 'utf8')).toBe('one\n');
    expect(fs.existsSync(path.join(root, 'c.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(root, 'b.txt'), 'utf8')).toBe('keep\nmy edit\n');
    expect(git(root, 'status', '--porcelain')).toBe(' M b.txt\n');
    expect(h.rows(`SELECT lane FROM inbox WHERE text = '/undo'`)).toEqual([
      { lane: 'answer' },
      { lane: 'answer' },
    ]);

    expect(await reply(101, '/undo')).toContain('Nothing to undo');
    expect(await reply(101, '/diff')).toContain(', undone since by /undo');
  });
});
