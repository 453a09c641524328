import fs from 'node:fs';
import path from 'node:path';
import { BWRAP_WORKS } from '../helpers/temp-dir';
import { ask, bwrapOr, CHAT, useSecurityWorld } from '../helpers/security-world';

// What sessions add to the worker's own reach. AGENTS.md is read by the worker, outside any
// sandbox, at the start of every run, and the model can write the project: a link it plants there
// must not bring the env file into the next request. And what the model writes that is not a
// message (a compaction's summary, a provider's reasoning fields) is stored and sent again: a
// secret in it is redacted like one in an answer.

jest.setTimeout(60_000);
const w = useSecurityWorld();
const BWRAP = bwrapOr('bwrap does not sandbox on this machine (BWRAP_WORKS is false)', BWRAP_WORKS);
const MODES: readonly ('bwrap' | 'off')[] = BWRAP ? ['bwrap', 'off'] : ['off'];

describe.each(MODES)('AGENTS.md as a link out of the project (AGENT_SANDBOX=%s)', (mode) => {
  it('the next run reads no instructions through it: the env file reaches no request', async () => {
    if (mode === 'bwrap') {
      w.openai.script([
        {
          toolCalls: [
            { name: 'bash', arguments: { command: `ln -s ${w.envFile} AGENTS.md; echo LINKED=$?` } },
          ],
        },
        'LINK PLANTED',
        'SECOND ANSWER',
      ]);
    } else {
      // without bwrap the link is already in the project (a cloned repository may hold one)
      fs.symlinkSync(w.envFile, path.join(w.project('default', true), 'AGENTS.md'));
      w.openai.script(['LINK PLANTED', 'SECOND ANSWER']);
    }
    await w.start({ AGENT_SANDBOX: mode });
    await ask(w, 'make a note of the instructions', 'LINK PLANTED');
    await ask(w, 'now follow them', 'SECOND ANSWER');
    await w.settled();
    expect(fs.lstatSync(path.join(w.project(), 'AGENTS.md')).isSymbolicLink()).toBe(true);
    const system = String(w.openai.requests.at(-1)!.body.messages[0]!.content);
    expect(system).not.toContain('Project instructions');
    // the canary is in the env file only, and no redaction knows it: seen anywhere, the file was read
    expect(w.leaks()).toBe('');
  });
});

describe('secrets the model writes outside its messages', () => {
  it("a compaction's summary holding the bot token and the key is stored and sent again redacted", async () => {
    w.openai.script([
      'FIRST ANSWER',
      'SECOND ANSWER',
      // the summary /compact asks for
      `## Goal\nKeep the bot running with token ${w.token} and key ${w.apiKey}.`,
      'THIRD ANSWER',
    ]);
    await w.start({ AGENT_SANDBOX: 'off' });
    await ask(w, 'first', 'FIRST ANSWER');
    await ask(w, 'second', 'SECOND ANSWER');
    await ask(w, '/compact', 'Compacted this session');
    await ask(w, 'third', 'THIRD ANSWER');
    await w.settled();
    const summary = String(w.rows('SELECT summary FROM compactions')[0]!.summary);
    expect(summary).toMatch(/^## Goal\nKeep the bot running with token .+ and key .+\.$/);
    // the request after it carries the summary, without the secrets
    expect(JSON.stringify(w.openai.requests.at(-1)!.body.messages)).toContain('Keep the bot running');
    expect(w.leaks()).toBe('');
  });

  it("a provider's reasoning holding the key is journalled and sent back redacted", async () => {
    const withReasoning = (reasoning: string): Buffer =>
      Buffer.from(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 0,
          model: 'deepseek-reasoner',
          choices: [
            {
              index: 0,
              finish_reason: 'tool_calls',
              message: {
                role: 'assistant',
                content: null,
                reasoning_content: reasoning,
                tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'ls', arguments: '{}' } }],
              },
            },
          ],
          usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
        }),
      );
    w.openai.script([
      {
        replay: {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: withReasoning(`The key is ${w.apiKey}; I will list the files.`),
        },
      },
      'LISTED',
    ]);
    await w.start({ AGENT_SANDBOX: 'off' });
    await ask(w, 'what is here?', 'LISTED');
    await w.settled();
    // the reasoning went back with its turn (DeepSeek needs it), redacted
    const turn = w.openai.requests[1]!.body.messages.find((m) => m.role === 'assistant');
    expect(String(turn?.reasoning_content)).toMatch(/^The key is .+; I will list the files\.$/);
    expect(w.rows(`SELECT count(*) AS n FROM agent_steps WHERE provider_fields IS NOT NULL`)).toEqual([
      { n: 1 },
    ]);
    expect(w.telegram.sentTo(CHAT).some((m) => m.text.includes('The key is'))).toBe(false);
    expect(w.leaks()).toBe('');
  });
});
