/**
 * What a person and the operator see of a message that died: the notice names the model
 * server's words in one sentence (redacted, on one line, cut), `queue dead` keeps them whole.
 */
import { paint } from '../../src/cli/render/colour';
import { renderDead } from '../../src/cli/render/queue';
import type { InboxRow } from '../../src/queue/row';
import { EdgeError } from '../../src/worker/errors';
import { sendDeadNotice } from '../../src/worker/handlers/notice';
import { deadNotice } from '../../src/worker/notices';
import type { SendTelegram } from '../../src/worker/replier';
import { captureLog } from '../helpers/worker-harness';

const KEY = 'sk-proj-Abcdefghijklmnop0123456789';

describe('dead notice', () => {
  it('says only that the message could not be answered when nobody said why', () => {
    expect(deadNotice(12)).toBe(
      'Sorry, I could not answer this message (reference #12). The operator has been left a note and can retry it.',
    );
    expect(deadNotice(12, ' \n ')).toBe(deadNotice(12));
  });

  it("quotes the model server's words on one line, redacted, cut to 200 characters", () => {
    const said = `Tool call validation failed:\n  the call held ${KEY}\n${'and more '.repeat(40)}`;
    const notice = deadNotice(12, said);
    const quoted =
      /^Sorry, I could not answer this message: the model's server said "(.*)" \(reference #12\)\. The operator has been left a note and can retry it\.$/.exec(
        notice,
      )?.[1];
    expect(quoted).toMatch(/^Tool call validation failed: the call held \[redacted\] and more and more/);
    expect(quoted).toHaveLength(200);
    expect(quoted?.endsWith('…')).toBe(true);
    expect(notice).not.toContain(KEY);
    expect(deadNotice(3, 'Token limit reached')).toContain(
      `this message: the model's server said "Token limit reached" (reference #3).`,
    );
  });

  it("quotes the words of the model's server only, not what another edge or our own code said", async () => {
    const sent: string[] = [];
    const telegram = {
      sendMessage: async (_chatId: number, text: string) => {
        sent.push(text);
        return { message_id: 1 };
      },
    } as unknown as SendTelegram;
    const item = { id: 5, chatId: 101, messageId: 9 } as InboxRow;
    const deps = { telegram, log: captureLog() };
    await sendDeadNotice(deps, item, new EdgeError('permanent', 'openai', '400', 'x', undefined, 'Bad tool'));
    await sendDeadNotice(deps, item, new EdgeError('permanent', 'telegram', '400', 'x', undefined, 'Bad'));
    await sendDeadNotice(deps, item);
    expect(sent).toEqual([deadNotice(5, 'Bad tool'), deadNotice(5), deadNotice(5)]);
  });
});

describe('queue dead', () => {
  const row = {
    id: 7,
    chatId: 101,
    attempts: 1,
    error: `The model's server answered 400 tool_use_failed: Tool call validation failed: ${'x'.repeat(300)}`,
    errorClass: 'transient',
    errorCode: 'openai:tool_use_failed',
    finishedAt: 1000,
    receivedAt: 1000,
    text: 'call a tool',
  } as InboxRow;

  it('cuts the error short in the table, and shows it whole with --full', () => {
    expect(renderDead([row], 2000, false, paint(false))).not.toContain(row.error);
    expect(renderDead([row], 2000, true, paint(false))).toContain(row.error);
  });
});
