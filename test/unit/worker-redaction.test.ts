import { runAgent } from '../../src/agent/loop';
import { registerSecret } from '../../src/shared/redact';
import {
  DOCUMENT_REDACTED_NOTE,
  redactedDocument,
  redactingJournal,
  redactingTools,
} from '../../src/worker/redacting-ports';
import { RunProgress } from '../../src/worker/run-progress';
import {
  answer,
  callTools,
  fakeTool,
  runInput,
  runPorts,
  scriptedModel,
  testClock,
} from '../helpers/agent-world';
import { memoryJournal } from '../helpers/memory-journal';

// What the worker hands the pure loop redacts on the way: the loop, the model, the journal and
// the status message see `[redacted]` where a tool printed a secret or the model wrote one.

// Shaped like no pattern: only registering them can catch them
const SECRET = 'correct-horse-battery-staple-42';
const TOKEN = '555666777:AAExampleTokenOnlyForThisTest_xyz012';
const TOKEN_HALF = 'AAExampleTokenOnlyForThisTest_xyz012';

beforeAll(() => {
  registerSecret(SECRET);
  registerSecret(TOKEN);
});

describe('redacting ports through the real loop', () => {
  it('a secret a tool prints reaches neither the model nor the journal', async () => {
    const journal = memoryJournal();
    const bash = fakeTool({
      name: 'bash',
      run: () => ({ content: `exit code 0\noutput:\nPASSWORD=${SECRET}\n${TOKEN_HALF}`, isError: false }),
    });
    const model = scriptedModel([callTools(['bash', { command: 'cat .env' }]), answer('done')]);
    const result = await runAgent(
      runInput(1),
      runPorts(model, redactingTools([bash]), redactingJournal(journal), testClock()),
    );
    expect(result.status).toBe('done');
    const told = JSON.stringify(model.calls[1]!.messages);
    expect(told).toContain('PASSWORD=[redacted]\\n[redacted]');
    const stored = JSON.stringify(journal.runs);
    for (const secret of [SECRET, TOKEN_HALF]) {
      expect(told).not.toContain(secret);
      expect(stored).not.toContain(secret);
    }
  });

  it('a thrown error, the model’s own text and calls, and the answer are stored without secrets', async () => {
    const journal = memoryJournal();
    const bash = fakeTool({
      name: 'bash',
      run: () => {
        throw new Error(`could not reach https://api.telegram.org/bot${TOKEN}/getMe`);
      },
    });
    const model = scriptedModel([
      { ...callTools(['bash', { command: `echo ${SECRET}` }]), content: `I will print ${SECRET}` },
      answer(`Your token is ${TOKEN}.`),
    ]);
    const result = await runAgent(
      runInput(1),
      runPorts(model, redactingTools([bash]), redactingJournal(journal), testClock()),
    );
    // the call ran as stored: the agent never gets to use the secret
    expect(bash.runs).toEqual([{ command: 'echo [redacted]' }]);
    expect(JSON.stringify(model.calls[1]!.messages)).toContain('bot[redacted]/getMe');
    expect(result.answer).toBe('Your token is [redacted].');
    const stored = JSON.stringify(journal.runs);
    expect(stored).toContain('I will print [redacted]');
    for (const secret of [SECRET, TOKEN_HALF]) expect(stored).not.toContain(secret);
  });
});

describe('redactedDocument', () => {
  it('replaces secrets in the bytes and says so in the caption', () => {
    const doc = redactedDocument(Buffer.from(`a=${SECRET}\n`), `the env of ${TOKEN}`);
    expect(doc.bytes.toString()).toBe('a=[redacted]\n');
    expect(doc.redacted).toBe(true);
    expect(doc.caption).toBe(`the env of [redacted]\n\n${DOCUMENT_REDACTED_NOTE}`);
    expect(redactedDocument(Buffer.from(SECRET), undefined).caption).toBe(DOCUMENT_REDACTED_NOTE);
  });

  it('keeps a clean file and its caption, and cuts a long caption to fit with the note', () => {
    expect(redactedDocument(Buffer.from('plain'), 'hi')).toEqual({
      bytes: Buffer.from('plain'),
      caption: 'hi',
      redacted: false,
    });
    const long = redactedDocument(Buffer.from(SECRET), 'c'.repeat(1024)).caption!;
    expect(long.length).toBeLessThanOrEqual(1024);
    expect(long.endsWith(DOCUMENT_REDACTED_NOTE)).toBe(true);
  });
});

describe('the status message', () => {
  it('shows a command without its secrets and with hidden characters escaped', () => {
    const progress = new RunProgress(0);
    progress.apply({
      type: 'tool-start',
      call: {
        stepId: 1,
        toolCallId: 'c1',
        name: 'bash',
        args: {},
        description: `bash \`curl -d ${SECRET} x\u202E\u001b[2J\``,
      },
    });
    const text = progress.render(1000);
    expect(text).not.toContain(SECRET);
    expect(text).toContain('→ bash `curl -d [redacted] x\\u202E\\x1B[2J`');
  });
});
