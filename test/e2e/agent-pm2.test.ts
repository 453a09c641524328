import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { INTERRUPTED_RESULT } from '../../src/agent/ports';
import type { ChatCompletionRequest } from '../helpers/fake-openai';
import { usePm2World } from '../helpers/pm2-world';
import { waitUntil } from '../helpers/wait-until';

// Agent runs under the real PM2 (a temporary PM2_HOME, always reaped) with the built worker:
// SIGKILLs at the journal's worst instants.

const WORKER = 'autonous-worker';
const AGENT = { AGENT_APPROVAL: 'never' };
jest.setTimeout(120_000);

const w = usePm2World();

function project(): string {
  return path.join(path.dirname(w.dbPath), 'workspaces', 'default');
}

function steps(): { tool: string | null; status: string | null; kind: string }[] {
  if (!fs.existsSync(w.dbPath)) return [];
  const db = new Database(w.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT kind, tool, status FROM agent_steps ORDER BY seq').all() as {
      tool: string | null;
      status: string | null;
      kind: string;
    }[];
  } catch {
    return []; // before the migration
  } finally {
    db.close();
  }
}

function toolResults(req: ChatCompletionRequest): string[] {
  return req.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
}

/** Kills the worker once `ready` holds, and waits for PM2's new one. */
async function killWhen(ready: () => boolean, what: string): Promise<void> {
  const sandbox = w.pm2;
  await waitUntil(ready, 30_000, () => `${what}: ${JSON.stringify(steps())}`);
  const pid = await sandbox.killProcess(WORKER, 'SIGKILL');
  await sandbox.waitFor(
    (ps) => ps.some((p) => p.name === WORKER && p.pid > 0 && p.pid !== pid),
    20_000,
    'a new worker',
  );
}

describe('agent runs under PM2', () => {
  // With bwrap (auto here) the command dies with the worker (--die-with-parent); without it
  // (off) the next start kills the group the dead worker left running
  it.each(['auto', 'off'])(
    'SIGKILL while bash runs `sleep 5 && touch done` (AGENT_SANDBOX=%s): the model gets "interrupted", done is never made, one answer',
    async (sandboxMode) => {
      w.openai.script([
        { toolCalls: [{ name: 'bash', arguments: { command: 'sleep 5 && touch done' } }] },
        (req) => `after the restart: ${toolResults(req).at(-1)}`,
      ]);
      await w.start({ ...AGENT, AGENT_SANDBOX: sandboxMode });
      w.telegram.pushMessage(101, 'sleep then touch');
      await killWhen(
        () => steps().some((s) => s.tool === 'bash' && s.status === 'running'),
        'the bash call running',
      );
      await w.telegram.waitFor(
        () => w.telegram.sentTo(101).some((m) => m.text.startsWith('after the restart')),
        40_000,
        'the answer after the restart',
      );
      await waitUntil(
        () => w.inbox().every((r) => r.status === 'done'),
        10_000,
        () => JSON.stringify(w.inbox()),
      );
      // longer than the command would have taken: nothing ran it again, nor survived the kill
      await new Promise((r) => setTimeout(r, 6000));
      expect(fs.existsSync(path.join(project(), 'done'))).toBe(false);
      const answers = w.telegram.sentTo(101).filter((m) => m.text.startsWith('after the restart'));
      expect(answers.map((m) => m.text)).toEqual([`after the restart: ${INTERRUPTED_RESULT}`]);
      expect(w.openai.requests).toHaveLength(2);
      expect(steps().map((s) => [s.kind, s.tool, s.status])).toEqual([
        ['model', null, null],
        ['tool', 'bash', 'interrupted'],
        ['model', null, null],
      ]);
      expect(w.inbox().map((r) => [r.status, r.attempts])).toEqual([['done', 2]]);
    },
  );

  it('SIGKILL between a stored response and its tools: each tool runs once, the model is not asked again for it', async () => {
    w.openai.script([
      {
        toolCalls: [
          { name: 'write', arguments: { path: 'a.txt', content: 'A\n' } },
          { name: 'bash', arguments: { command: 'sleep 4; echo ran >> log.txt' } },
          { name: 'write', arguments: { path: 'b.txt', content: 'B\n' } },
          { name: 'read', arguments: { path: 'a.txt' } },
        ],
      },
      (req) => `results: ${toolResults(req).length}`,
    ]);
    await w.start(AGENT);
    w.telegram.pushMessage(101, 'write, run, write, read');
    // the response is stored; the first write done, the bash running, the second write and read pending
    await killWhen(
      () => steps().some((s) => s.tool === 'bash' && s.status === 'running'),
      'the response stored and its tools under way',
    );
    await w.telegram.waitFor(
      () => w.telegram.sentTo(101).some((m) => m.text.startsWith('results: ')),
      40_000,
      'the answer after the restart',
    );
    expect(
      w.telegram
        .sentTo(101)
        .filter((m) => m.text.startsWith('results: '))
        .map((m) => m.text.split('\n')[0]),
    ).toEqual(['results: 4']);
    // two model calls in all: the stored response was not asked for again
    expect(w.openai.requests).toHaveLength(2);
    expect(fs.readFileSync(path.join(project(), 'a.txt'), 'utf8')).toBe('A\n');
    expect(fs.readFileSync(path.join(project(), 'b.txt'), 'utf8')).toBe('B\n');
    await new Promise((r) => setTimeout(r, 4500));
    expect(fs.existsSync(path.join(project(), 'log.txt'))).toBe(false);
    expect(steps().map((s) => [s.tool, s.status])).toEqual([
      [null, null],
      ['write', 'done'],
      ['bash', 'interrupted'],
      ['write', 'done'],
      ['read', 'done'],
      [null, null],
    ]);
    const results = toolResults(w.openai.requests[1]!.body);
    expect(results[0]).not.toContain('it had taken effect before');
    expect(results[1]).toBe(INTERRUPTED_RESULT);
    expect(results[3]).toContain('A');
  });
});
