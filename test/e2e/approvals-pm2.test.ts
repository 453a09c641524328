import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ChatCompletionRequest } from '../helpers/fake-openai';
import type { SentMessage } from '../helpers/fake-telegram';
import { usePm2World } from '../helpers/pm2-world';
import { waitUntil } from '../helpers/wait-until';

// Approvals under the real PM2 (a temporary PM2_HOME, always reaped) with the built worker: a run
// parked on a card survives a SIGKILL of the worker, and a press made while PM2 restarts it is
// decided once the new worker is up.

const WORKER = 'autonous-worker';
/** `on-risk` without bwrap: every `bash` asks. */
const UNSANDBOXED = { AGENT_APPROVAL: 'on-risk', AGENT_SANDBOX: 'off' };
jest.setTimeout(120_000);

const w = usePm2World();

function project(): string {
  return path.join(path.dirname(w.dbPath), 'workspaces', 'default');
}

function rows(sql: string): Record<string, unknown>[] {
  if (!fs.existsSync(w.dbPath)) return [];
  const db = new Database(w.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } catch {
    return []; // before the migration
  } finally {
    db.close();
  }
}

function toolResults(req: ChatCompletionRequest): string[] {
  return req.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
}

function cards(): SentMessage[] {
  return w.telegram.sentTo(101).filter((m) => /^Approval #\d+: /.test(m.text));
}

function lines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

describe('approvals under PM2', () => {
  it('SIGKILL while a run waits for approval, the press made during the restart: decided once, the run finishes, no live buttons left', async () => {
    w.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: 'echo ran >> once.log' } }] },
      (req) => `after the restart: ${toolResults(req).at(-1)!.split('\n')[0]}`,
    ]);
    const sandbox = await w.start(UNSANDBOXED);
    w.telegram.pushMessage(101, 'append a line');
    await w.telegram.waitFor(() => cards().length === 1, 30_000, 'the approval card');
    const card = cards()[0]!;
    const allowOnce = (w.telegram.message(101, card.messageId)!.keyboard ?? [])
      .flat()
      .find((b) => b.text === 'Allow once')!;
    expect(allowOnce).toBeDefined();
    await waitUntil(
      () => rows(`SELECT status FROM inbox WHERE lane = 'answer'`)[0]?.status === 'parked',
      10_000,
      () => JSON.stringify(rows('SELECT id, lane, status FROM inbox')),
    );

    // kill the parked worker and press at once, while PM2 brings up the next one
    const killedPid = await sandbox.killProcess(WORKER, 'SIGKILL');
    const killedAt = Date.now();
    w.telegram.pushCallbackQuery(101, 101, card.messageId, String(allowOnce.callback_data));
    const pressedAt = Date.now();
    await sandbox.waitFor(
      (ps) => ps.some((p) => p.name === WORKER && p.pid > 0 && p.pid !== killedPid),
      20_000,
      'a new worker',
    );
    await w.telegram.waitFor(
      () => w.telegram.sentTo(101).some((m) => m.text.startsWith('after the restart: ')),
      40_000,
      'the answer after the restart',
    );
    // nothing polled between the kill and the press: the press reached no worker before the restart
    const polls = w.telegram.callsOf('getUpdates').filter((c) => c.at >= killedAt);
    expect(polls.length).toBeGreaterThan(0);
    expect(polls[0]!.at).toBeGreaterThanOrEqual(pressedAt);
    const answeredAt = w.telegram.sentTo(101).find((m) => m.text.startsWith('after the restart: '))!.at;
    await waitUntil(
      () => w.inbox().every((r) => r.status === 'done' || r.status === 'skipped'),
      10_000,
      () => JSON.stringify(w.inbox()),
    );
    await w.telegram.waitFor(
      () => w.telegram.message(101, card.messageId)!.keyboard === undefined,
      10_000,
      'the card edited',
    );

    // decided once, by the approver; the command ran exactly once; one answer; the run done
    expect(rows('SELECT status, scope, decided_by AS by FROM agent_approvals')).toEqual([
      { status: 'allowed', scope: 'once', by: 101 },
    ]);
    expect(lines(path.join(project(), 'once.log'))).toEqual(['ran']);
    expect(
      w.telegram
        .sentTo(101)
        .filter((m) => m.text.startsWith('after the restart: '))
        .map((m) => m.text.split('\n')[0]),
    ).toEqual([expect.stringMatching(/^after the restart: exit code 0 after .* \(unsandboxed\)$/)]);
    expect(w.openai.requests).toHaveLength(2);
    expect(rows('SELECT status FROM agent_runs')).toEqual([{ status: 'done' }]);
    expect(w.telegram.callbackAnswers.map((a) => a.text)).toEqual([
      expect.stringMatching(/^Approval #\d+: allowed once\.$/),
    ]);
    expect(w.telegram.message(101, card.messageId)!.text).toMatch(/✅ Allowed once by user 101 at /);
    expect(w.telegram.message(101, card.messageId)!.editCount).toBe(1);
    // no message of the chat is left with live buttons
    expect(w.telegram.sentTo(101).filter((m) => m.keyboard !== undefined)).toEqual([]);
    expect(cards()).toHaveLength(1);
    expect(await sandbox.restarts(WORKER)).toBe(1);
    console.log(
      `press pushed ${pressedAt - killedAt} ms after the SIGKILL; first poll of the new worker ${
        polls[0]!.at - killedAt
      } ms after it; answer ${answeredAt - pressedAt} ms after the press`,
    );
  });

  it('"Allow for this run" outlives a SIGKILL: after the restart the identical call runs without a card', async () => {
    const allowed = 'echo allowed >> run.log';
    w.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: allowed } }] },
      { toolCalls: [{ name: 'bash', arguments: { command: 'echo other >> other.log' } }] },
      { toolCalls: [{ name: 'bash', arguments: { command: allowed } }] },
      (req) => `results: ${toolResults(req).length}`,
    ]);
    const sandbox = await w.start(UNSANDBOXED);
    w.telegram.pushMessage(101, 'allowed, other, allowed');
    const press = (card: SentMessage, label: string): void => {
      const button = (w.telegram.message(101, card.messageId)!.keyboard ?? [])
        .flat()
        .find((b) => b.text === label)!;
      w.telegram.pushCallbackQuery(101, 101, card.messageId, String(button.callback_data));
    };
    await w.telegram.waitFor(() => cards().length === 1, 30_000, 'the first card');
    press(cards()[0]!, 'Allow for this run');
    await w.telegram.waitFor(() => cards().length === 2, 30_000, 'the second card');
    await waitUntil(
      () => rows(`SELECT status FROM inbox WHERE lane = 'answer'`)[0]?.status === 'parked',
      10_000,
      () => JSON.stringify(rows('SELECT id, lane, status FROM inbox')),
    );
    expect(lines(path.join(project(), 'run.log'))).toEqual(['allowed']);

    const killedPid = await sandbox.killProcess(WORKER, 'SIGKILL');
    await sandbox.waitFor(
      (ps) => ps.some((p) => p.name === WORKER && p.status === 'online' && p.pid !== killedPid),
      20_000,
      'a new worker',
    );
    press(cards()[1]!, 'Deny');
    await w.telegram.waitFor(
      () => w.telegram.sentTo(101).some((m) => m.text.startsWith('results: ')),
      40_000,
      'the answer after the restart',
    );
    // the third call, identical to the first, ran without asking: two cards in all
    expect(cards()).toHaveLength(2);
    expect(lines(path.join(project(), 'run.log'))).toEqual(['allowed', 'allowed']);
    expect(fs.existsSync(path.join(project(), 'other.log'))).toBe(false);
    expect(rows('SELECT status, scope FROM agent_approvals ORDER BY id')).toEqual([
      { status: 'allowed', scope: 'run' },
      { status: 'denied', scope: null },
    ]);
    expect(w.openai.requests).toHaveLength(4);
    expect(w.telegram.sentTo(101).filter((m) => m.keyboard !== undefined)).toEqual([]);
  });
});
