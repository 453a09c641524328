import fs from 'node:fs';
import path from 'node:path';
import { SUMMARY_REQUEST_OPENING } from '../../src/agent/compaction';
import { SUMMARY_OPENING } from '../../src/agent/context-builder';
import { DEFAULT_PROJECT } from '../../src/workspace/projects';
import { NOTHING_TO_COMPACT } from '../../src/worker/session-commands';
import { lastUserText, openAIErrors, type ChatCompletionRequest } from '../helpers/fake-openai';
import { useWorkerHarness } from '../helpers/worker-harness';

// `/compact` and the session's `/status` lines through the real worker: the summary is asked with
// the request a run of the session sends, stored, counted, and the next run starts from it.

const h = useWorkerHarness();

const SUMMARY = '## Goal\nRun the server.\n## Decisions\nPorts 8080 and 9090.\n## Next step\nNone.';

function isSummaryRequest(req: ChatCompletionRequest): boolean {
  return lastUserText(req).startsWith(SUMMARY_REQUEST_OPENING);
}

function repliesTo(chatId: number): string[] {
  return h.telegram.sentTo(chatId).map((m) => m.text);
}

/** Sends a message and waits for the chat's `count`-th reply. */
async function say(text: string, count: number): Promise<string> {
  h.telegram.pushMessage(101, text);
  await h.telegram.waitForSent(count, 10_000);
  return repliesTo(101).at(-1)!;
}

beforeEach(() => {
  h.openai.setReply((req) => (isSummaryRequest(req) ? SUMMARY : `answer to ${lastUserText(req)}`));
});

describe('/compact', () => {
  it("summarizes the session with a run's own request, stores and counts it, and the next run starts from the summary", async () => {
    await h.start();
    await say('the server listens on port 8080', 1);
    // AGENTS.md is read at the start of each run: the second run and /compact both have it
    const root = path.join(path.dirname(h.dbPath), 'workspaces', DEFAULT_PROJECT);
    fs.writeFileSync(path.join(root, 'AGENTS.md'), '# Rules\n\nUse port numbers above 1024.\n');
    await say('and the proxy on port 9090', 2);
    const previous = h.openai.requests[1]!.body;
    expect(previous.messages[0]!.content).toContain('# Project instructions (AGENTS.md)');

    const reply = await say('/compact keep the port numbers', 3);
    expect(reply).toMatch(/^Compacted this session: about \d+ → \d+ tokens \(window 128000\)\.$/);
    expect(h.openai.requests).toHaveLength(3);
    const summary = h.openai.requests[2]!.body;
    const ask = lastUserText(summary);
    expect(ask.startsWith(SUMMARY_REQUEST_OPENING)).toBe(true);
    expect(ask).toContain('Keep in particular: keep the port numbers');
    // the same prefix as the run before it (system prompt, AGENTS.md, tools, transcript): cached
    expect(summary.messages.slice(0, -1)).toEqual(previous.messages);
    expect(summary.tools).toEqual(previous.tools);
    expect(summary.tool_choice).toBe('none');

    await h.settled();
    const compactId = h.rows(`SELECT id FROM inbox WHERE text = '/compact keep the port numbers'`)[0]!.id;
    expect(h.rows('SELECT run_id, kind, instructions, summary FROM compactions')).toEqual([
      { run_id: null, kind: 'summary', instructions: 'keep the port numbers', summary: SUMMARY },
    ]);
    expect(
      h.rows('SELECT model, prompt_tokens > 0 AS counted FROM usage WHERE inbox_id = ?', compactId),
    ).toEqual([{ model: 'gpt-4o-mini', counted: 1 }]);

    await say('which ports?', 4);
    const next = h.openai.requests[3]!.body;
    // the summary stands for everything but the newest answer, which is kept as it was
    expect(next.messages.map((m) => m.content)).toEqual([
      previous.messages[0]!.content,
      `${SUMMARY_OPENING}\n\n${SUMMARY}`,
      'answer to and the proxy on port 9090',
      'which ports?',
    ]);
  });

  it('says when there is nothing to compact, without asking the model', async () => {
    await h.start({ AGENT_TOOLS: 'off' });
    expect(await say('/compact', 1)).toBe(NOTHING_TO_COMPACT);
    expect(h.openai.requests).toHaveLength(0);
    expect(h.rows('SELECT 1 FROM compactions')).toHaveLength(0);
  });

  it('leaves the session as it was and says why when the summary call fails', async () => {
    await h.start();
    await say('first', 1);
    await say('second', 2);
    h.openai.failNext(openAIErrors.invalidRequest('The summary is refused.'), 1, isSummaryRequest);
    const reply = await say('/compact', 3);
    expect(reply).toMatch(
      /^The summary failed \(the summary call failed: .*The summary is refused\..*\), so the session was left as it was; \/compact again to retry\.$/,
    );
    expect(h.rows('SELECT 1 FROM compactions')).toHaveLength(0);
  });
});

describe('/status', () => {
  it("shows the session's size against the window, its last compaction, the cached share and the instructions", async () => {
    await h.start();
    expect(await say('/status', 1)).toMatch(
      /\nModel: gpt-4o-mini\nSession: about \d+ tokens of a 128000-token window \(\d+%\)\nLast compaction: none\nCached: — of the last request\nInstructions: none \(add AGENTS\.md to the project\)\n/,
    );
    await say('first', 2);
    const root = path.join(path.dirname(h.dbPath), 'workspaces', DEFAULT_PROJECT);
    fs.writeFileSync(path.join(root, 'AGENTS.md'), 'x'.repeat(2048));
    await say('second', 3);
    await say('/compact', 4);
    expect(await say('/status', 5)).toMatch(
      /\nSession: about \d+ tokens of a 128000-token window \(\d+%\)\nLast compaction: \d+ s ago, about \d+ → \d+ tokens\nCached: 0% of the last request\nInstructions: AGENTS\.md \(2\.0 KB\)\n/,
    );
  });

  it('leaves the instructions out when runs have no tools (AGENT_TOOLS=off: no project)', async () => {
    await h.start({ AGENT_TOOLS: 'off' });
    await say('hello', 1);
    const status = await say('/status', 2);
    expect(status).toMatch(
      /\nSession: about \d+ tokens of a \d+-token window \(\d+%\)\nLast compaction: none\nCached: 0% of the last request\n/,
    );
    expect(status).not.toContain('Instructions:');
  });
});
