import fs from 'node:fs';
import path from 'node:path';
import { lastUserText } from '../helpers/fake-openai';
import { killAndRespawn, usePm2World } from '../helpers/pm2-world';
import { waitUntil } from '../helpers/wait-until';

// Voice and files under the real PM2 (a temporary PM2_HOME, always reaped) with the built worker:
// a transcription paid for is never asked again after a SIGKILL, and a file too big for the Bot
// API is refused without the worker restarting, before and after a restart. Every kill waits for
// an event (a request held at the fake), never for time.

const WORKER = 'autonous-worker';
const CHAT = 101;
jest.setTimeout(90_000);

const w = usePm2World();

/** SIGKILLs the worker (it must be running now) and waits for PM2's new one. */
function killWorker(): Promise<void> {
  return killAndRespawn(w.pm2, WORKER);
}

describe('files and voice under PM2', () => {
  it('a voice note transcribed before a SIGKILL is transcribed once in all, and answered once', async () => {
    const SAID = 'check why the tests fail on main';
    w.openai.setTranscriber(() => SAID);
    // the run's first model call is held: the worker dies after the transcript was stored and used
    w.openai.failNext({ hang: true }, 1);
    await w.start({ AGENT_APPROVAL: 'never' });
    w.telegram.pushMedia(CHAT, { voice: { data: Buffer.from('OggS voice bytes'), duration: 2 } });
    await w.openai.waitFor(() => w.openai.requests.length === 1, 30_000, 'the run asking the model');
    expect(w.openai.transcriptions).toHaveLength(1);

    await killWorker();

    await w.telegram.waitFor(
      () => w.telegram.sentTo(CHAT).some((m) => m.text.includes(`echo: ${SAID}`)),
      40_000,
      'the answer after the restart',
    );
    await waitUntil(
      () => w.inbox().every((r) => r.status === 'done'),
      10_000,
      () => JSON.stringify(w.inbox()),
    );
    expect(w.openai.transcriptions).toHaveLength(1);
    expect(w.openai.requests.map((r) => lastUserText(r.body))).toEqual([SAID, SAID]);
    const answers = w.telegram.sentTo(CHAT);
    expect(answers.map((m) => m.text)).toEqual([`<blockquote>${SAID}</blockquote>\n\necho: ${SAID}`]);
  });

  it('a 25 MB document gets a clear reply without a restart of the worker, and is not retried after one', async () => {
    await w.start({ AGENT_APPROVAL: 'never' });
    const before = await w.pm2.restarts(WORKER);
    w.telegram.pushMedia(CHAT, {
      document: { data: Buffer.from('x'), declaredSize: 25 * 1024 * 1024, fileName: 'core.dump' },
    });
    await w.telegram.waitFor(() => w.telegram.sentTo(CHAT).length === 1, 30_000, 'the refusal');
    expect(w.telegram.sentTo(CHAT)[0]!.text).toMatch(/over the 20 MB a bot may download from Telegram/);
    w.telegram.pushMessage(CHAT, 'next');
    await w.telegram.waitFor(() => w.telegram.sentTo(CHAT).length === 2, 30_000, 'the next answer');
    expect(await w.pm2.restarts(WORKER)).toBe(before);

    await killWorker();
    w.telegram.pushMessage(CHAT, 'after the restart');
    await w.telegram.waitFor(() => w.telegram.sentTo(CHAT).length === 3, 30_000, 'the answer after');
    expect(w.telegram.sentTo(CHAT).map((m) => m.text.split(':')[0])).toEqual([
      expect.stringMatching(/^Your file/),
      'echo',
      'echo',
    ]);
    // the answer is sent before its item is marked done: wait for the mark, never for time
    await waitUntil(
      () => w.inbox().every((r) => ['done', 'skipped', 'dead'].includes(r.status)),
      10_000,
      () => JSON.stringify(w.inbox()),
    );
    expect(w.inbox().map((r) => r.status)).toEqual(['skipped', 'done', 'done']);
    const project = path.join(path.dirname(w.dbPath), 'workspaces', 'default');
    expect(fs.existsSync(path.join(project, 'uploads'))).toBe(false);
  });
});
