import { WAITING_OTHER_TOPIC_NOTICE } from '../../src/worker/waiting-notices';
import { openAIErrors } from '../helpers/fake-openai';
import { useWorkerHarness } from '../helpers/worker-harness';

// Groups and forum topics through the real worker and the fake Bot API, which refuses a
// `message_thread_id` in a chat that is no forum and a reply to a deleted message in a topic, as
// Telegram does: service messages get no reply, and everything sent for a topic's message goes to
// that topic.

jest.setTimeout(60_000);

const h = useWorkerHarness();
const FORUM = -1001234567890;
const GROUP = -4001234;
const ENV = { TG_ALLOWED_CHAT_IDS: `101,${FORUM},${GROUP}`, AGENT_APPROVAL: 'never' };

/** Pushes a service message from Telegram into `chat` (a group's kind by its id), carrying `fields`. */
function pushService(
  chat: number,
  fields: Record<string, unknown>,
  messageId = Math.floor(Math.random() * 1e6),
): void {
  const type = chat <= -1000000000000 ? 'supergroup' : 'group';
  h.telegram.pushUpdate({
    message: {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chat, type, title: 'team', ...(chat === FORUM ? { is_forum: true } : {}) },
      from: { id: 101, is_bot: false, first_name: 'Tester' },
      ...fields,
    },
  });
}

describe('groups and forum topics', () => {
  it('answers no service message: topics opened, edited, closed, a pin, members, a migration', async () => {
    await h.start(ENV);
    const service: Record<string, unknown>[] = [
      { forum_topic_created: { name: 'deploys', icon_color: 7322096 } },
      { forum_topic_edited: { name: 'deploys 2' } },
      { forum_topic_closed: {} },
      { forum_topic_reopened: {} },
      { pinned_message: { message_id: 1, date: 0, chat: { id: FORUM, type: 'supergroup' } } },
      { new_chat_members: [{ id: 5, is_bot: false, first_name: 'New' }] },
      { left_chat_member: { id: 5, is_bot: false, first_name: 'New' } },
      { new_chat_title: 'renamed' },
      { migrate_from_chat_id: GROUP },
    ];
    for (const fields of service) pushService(FORUM, fields);
    pushService(GROUP, { migrate_to_chat_id: FORUM });
    h.telegram.pushMessage(101, 'still here?');
    await h.telegram.waitFor(() => h.telegram.sent.length >= 1, 20_000, 'the answer');
    await h.settled();
    expect(h.telegram.sent.map((m) => m.text)).toEqual(['echo: still here?']);
    const skipped = h.rows(`SELECT kind, status, error FROM inbox WHERE kind = 'service'`);
    expect(skipped).toHaveLength(service.length);
    // the old group's side of the migration is followed, silently
    expect(h.rows(`SELECT status FROM inbox WHERE kind = 'migration'`)).toEqual([{ status: 'done' }]);
    for (const row of skipped)
      expect(row).toMatchObject({ status: 'skipped', error: expect.stringMatching(/service/) });
  });

  it("sends everything for a topic's message to that topic: typing, the status message and the answer", async () => {
    h.openai.script([{ toolCalls: [{ name: 'ls', arguments: { path: '.' } }] }, 'done looking']);
    await h.start(ENV);
    const asked = h.telegram.pushMessage(FORUM, 'look around', { threadId: 7 });
    await h.telegram.waitFor(
      () => h.telegram.sentTo(FORUM).some((m) => m.text.startsWith('done looking')),
      20_000,
      'the answer in the topic',
    );
    const posts = h.telegram.calls.filter(
      (c) =>
        ['sendMessage', 'sendChatAction', 'sendDocument', 'sendPhoto'].includes(c.method) &&
        c.params.chat_id === FORUM,
    );
    expect(posts.length).toBeGreaterThanOrEqual(2);
    for (const post of posts) expect(post.params.message_thread_id).toBe(7);
    // the run's status message, then its answer: both in the topic
    expect(h.telegram.sentTo(FORUM).map((m) => [m.text.split('\n')[0]!.slice(0, 7), m.threadId])).toEqual([
      ['Working', 7],
      ['done lo', 7],
    ]);
    const answer = h.telegram.sentTo(FORUM).find((m) => m.text.startsWith('done looking'))!;
    expect(answer).toMatchObject({ threadId: 7, replyToMessageId: asked.message!.message_id });
  });

  it("puts an approval card for a topic's run in that topic", async () => {
    h.openai.script([{ toolCalls: [{ name: 'bash', arguments: { command: 'echo hi' } }] }, 'ran it']);
    await h.start({ ...ENV, AGENT_APPROVAL: 'always', AGENT_APPROVERS: '101' });
    h.telegram.pushMessage(FORUM, 'run something', { threadId: 11 });
    await h.telegram.waitFor(
      () => h.telegram.sentTo(FORUM).some((m) => m.keyboard !== undefined),
      20_000,
      'the approval card',
    );
    const card = h.telegram.sentTo(FORUM).find((m) => m.keyboard !== undefined)!;
    expect(card.threadId).toBe(11);
  });

  it("tells a topic's message that died in its topic", async () => {
    h.openai.failNext(openAIErrors.invalidRequest());
    await h.start(ENV);
    h.telegram.pushMessage(FORUM, 'this one fails', { threadId: 5 });
    await h.telegram.waitFor(() => h.telegram.sentTo(FORUM).length >= 1, 20_000, 'the dead notice');
    expect(h.telegram.sentTo(FORUM)[0]).toMatchObject({
      threadId: 5,
      text: expect.stringMatching(/could not answer/),
    });
  });

  it('answers in the topic without the reply when the message was deleted meanwhile', async () => {
    await h.start(ENV);
    const asked = h.telegram.pushMessage(FORUM, 'then I deleted this', { threadId: 9 });
    h.telegram.deleteMessage(FORUM, asked.message!.message_id);
    await h.telegram.waitFor(() => h.telegram.sentTo(FORUM).length >= 1, 20_000, 'the answer');
    await h.settled();
    expect(h.telegram.sentTo(FORUM)).toEqual([
      expect.objectContaining({
        text: 'echo: then I deleted this',
        threadId: 9,
        replyToMessageId: undefined,
      }),
    ]);
    expect(h.rows('SELECT status FROM inbox')).toEqual([{ status: 'done' }]);
  });

  it('sends no topic to a group that is no forum, nor to a forum message outside a topic', async () => {
    await h.start(ENV);
    h.telegram.pushMessage(GROUP, 'plain group');
    h.telegram.pushMessage(FORUM, 'in a topic', { threadId: 3 });
    h.telegram.pushMessage(FORUM, 'in General');
    await h.telegram.waitFor(() => h.telegram.sent.length >= 3, 20_000, 'three answers');
    const byText = new Map(h.telegram.sent.map((m) => [m.text, m.threadId]));
    expect(byText.get('echo: plain group')).toBeUndefined();
    expect(byText.get('echo: in a topic')).toBe(3);
    expect(byText.get('echo: in General')).toBeUndefined();
  });

  it("keeps each topic's conversation its own: a run in one topic sees none of another's, /new and /project apply to their topic", async () => {
    await h.start(ENV);
    const userTexts = (i: number): string[] =>
      h.openai.requests[i]!.body.messages.filter((m) => m.role === 'user').map((m) => String(m.content));
    h.telegram.pushMessage(FORUM, 'A: my name is Ann', { threadId: 7 });
    await h.telegram.waitFor(() => h.telegram.sent.length >= 1, 20_000, 'answer 1');
    h.telegram.pushMessage(FORUM, 'B: what is my name?', { threadId: 8 });
    await h.telegram.waitFor(() => h.telegram.sent.length >= 2, 20_000, 'answer 2');
    h.telegram.pushMessage(FORUM, 'A: and again?', { threadId: 7 });
    await h.telegram.waitFor(() => h.telegram.sent.length >= 3, 20_000, 'answer 3');
    expect(userTexts(1)).toEqual(['B: what is my name?']);
    expect(userTexts(2)).toEqual(['A: my name is Ann', 'A: and again?']);
    // /project in topic 8 switches topic 8 only; /new in topic 7 starts over in topic 7 only
    h.telegram.pushMessage(FORUM, '/project other', { threadId: 8 });
    h.telegram.pushMessage(FORUM, '/new', { threadId: 7 });
    await h.telegram.waitFor(() => h.telegram.sent.length >= 5, 20_000, 'the two command answers');
    h.telegram.pushMessage(FORUM, 'A: fresh', { threadId: 7 });
    await h.telegram.waitFor(() => h.telegram.sent.length >= 6, 20_000, 'answer after /new');
    expect(userTexts(3)).toEqual(['A: fresh']);
    const sessions = h.rows('SELECT thread_id, project FROM sessions ORDER BY id');
    expect(sessions).toEqual([
      { thread_id: 7, project: 'default' },
      { thread_id: 8, project: 'default' },
      { thread_id: 7, project: 'default' },
    ]);
    expect(h.rows(`SELECT key, value FROM kv WHERE key LIKE 'chat_project:%'`)).toEqual([
      { key: `chat_project:${FORUM}:topic:8`, value: 'other' },
    ]);
  });

  it("stops with /stop only its own topic's work", async () => {
    h.openai.failNext({ hang: true });
    await h.start(ENV);
    h.telegram.pushMessage(FORUM, 'a long one', { threadId: 7 });
    await h.openai.waitFor(
      () => h.openai.requests.length === 1,
      20_000,
      'the run of topic 7 asking the model',
    );
    h.telegram.pushMessage(FORUM, 'waits in topic 8', { threadId: 8 });
    const stops = (): { threadId?: number; text: string }[] =>
      h.telegram
        .sentTo(FORUM)
        .filter((m) => m.text.startsWith('Stopped') || m.text.startsWith('Nothing to stop'))
        .map((m) => ({ threadId: m.threadId, text: m.text }));
    h.telegram.pushMessage(FORUM, '/stop', { threadId: 8 });
    await h.telegram.waitFor(() => stops().length >= 1, 20_000, "topic 8's /stop answered");
    h.telegram.pushMessage(FORUM, '/stop', { threadId: 7 });
    await h.telegram.waitFor(() => stops().length >= 2, 20_000, "topic 7's /stop answered");
    expect(stops()).toEqual([
      { threadId: 8, text: 'Stopped 1 waiting message.' },
      { threadId: 7, text: 'Stopped the answer in progress.' },
    ]);
    await h.settled();
    expect(h.rows(`SELECT text, status FROM inbox WHERE kind = 'text' ORDER BY id`)).toEqual([
      { text: 'a long one', status: 'skipped' },
      { text: 'waits in topic 8', status: 'skipped' },
    ]);
  });

  it("tells a message in one topic, in its topic, that it waits for another topic's run", async () => {
    h.openai.failNext({ hang: true });
    await h.start({ ...ENV, OPENAI_TIMEOUT_SECONDS: '600' });
    h.telegram.pushMessage(FORUM, 'a long one', { threadId: 7 });
    await h.openai.waitFor(
      () => h.openai.requests.length === 1,
      20_000,
      'the run of topic 7 asking the model',
    );
    h.telegram.pushMessage(FORUM, 'meanwhile in topic 8', { threadId: 8 });
    await h.telegram.waitFor(() => h.telegram.sentTo(FORUM).length >= 1, 20_000, 'the waiting notice');
    expect(h.telegram.sentTo(FORUM)[0]).toMatchObject({ threadId: 8, text: WAITING_OTHER_TOPIC_NOTICE });
  });

  it('follows an allowed group that became a supergroup: the new id is answered, with its project, and the operator told', async () => {
    const SUPER = -1009876543210;
    const first = await h.start({ ...ENV, TG_ADMIN_CHAT_IDS: '101' });
    h.telegram.pushMessage(GROUP, '/project site');
    await h.telegram.waitFor(() => h.telegram.sentTo(GROUP).length >= 1, 20_000, 'the /project answer');
    // Telegram's two service messages: in the old group, and in the new supergroup
    pushService(GROUP, { migrate_to_chat_id: SUPER }, 50);
    pushService(SUPER, { migrate_from_chat_id: GROUP }, 1);
    await h.telegram.waitFor(() => h.telegram.sentTo(101).length >= 1, 20_000, 'the admin told');
    expect(h.telegram.sentTo(101)[0]!.text).toContain(`Replace ${GROUP} by ${SUPER} in TG_ALLOWED_CHAT_IDS`);
    h.telegram.pushMessage(SUPER, 'still there?');
    await h.telegram.waitFor(() => h.telegram.sentTo(SUPER).length >= 1, 20_000, 'the supergroup answered');
    expect(h.telegram.sentTo(SUPER).map((m) => m.text)).toEqual(['echo: still there?']);
    // its project came along
    expect(h.rows(`SELECT project FROM agent_runs ORDER BY id DESC LIMIT 1`)).toEqual([{ project: 'site' }]);
    expect(h.log.lines.join('\n')).toContain(`became the supergroup ${SUPER}`);
    // and after a restart, without a configuration change, it still is
    await first.stop(2000);
    await h.start({ ...ENV, TG_ADMIN_CHAT_IDS: '101' });
    h.telegram.pushMessage(SUPER, 'after the restart');
    await h.telegram.waitFor(
      () => h.telegram.sentTo(SUPER).length >= 2,
      20_000,
      'answered after the restart',
    );
    expect(h.telegram.sentTo(101)).toHaveLength(1);
  });

  it('answers a button press that comes without its message', async () => {
    await h.start(ENV);
    const update = h.telegram.pushUpdate({
      callback_query: {
        id: 'inline-42',
        from: { id: 101, is_bot: false, first_name: 'Tester' },
        data: 'x',
        chat_instance: '1',
      },
    });
    void update;
    await h.telegram.waitFor(
      () =>
        h.telegram.calls.some(
          (c) => c.method === 'answerCallbackQuery' && c.params.callback_query_id === 'inline-42',
        ),
      20_000,
      'the press answered',
    );
    await h.settled();
    expect(h.rows(`SELECT kind, status FROM inbox`)).toEqual([{ kind: 'callback_query', status: 'skipped' }]);
  });
});
