import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useWorkerHarness } from '../helpers/worker-harness';

// Files a person sends, attacked through the real worker: the sender names the file, and the
// model (through its commands) may have made `uploads` or a name in it a link out of the project.
// Nothing is ever written outside the project, and the person is told why a file was not saved.

jest.setTimeout(60_000);

const h = useWorkerHarness();
const CHAT = 101;
const AGENT = { AGENT_APPROVAL: 'never' };
const TODAY = new Date().toISOString().slice(0, 10);

function project(): string {
  return path.join(path.dirname(h.dbPath), 'workspaces', 'default');
}

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A folder outside the project, as a target for links (removed after the test). */
function outside(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-outside-'));
  made.push(dir);
  return dir;
}

async function answered(count: number, what: string): Promise<string[]> {
  await h.telegram.waitFor(() => h.telegram.sentTo(CHAT).length >= count, 20_000, what);
  return h.telegram.sentTo(CHAT).map((m) => m.text);
}

describe('files from the chat cannot be written outside the project', () => {
  it('keeps a file named with a path inside uploads/', async () => {
    await h.start(AGENT);
    for (const fileName of ['../../../../tmp/evil.sh', '..\\..\\x.bat', '.bashrc']) {
      h.telegram.pushMedia(CHAT, { document: { data: Buffer.from(fileName), fileName } });
    }
    await answered(3, 'three answers');
    expect(fs.readdirSync(path.join(project(), 'uploads')).sort()).toEqual([
      `${TODAY}-bashrc`,
      `${TODAY}-evil.sh`,
      `${TODAY}-x.bat`,
    ]);
    expect(fs.readdirSync(project()).filter((f) => f !== '.git')).toEqual(['uploads']);
  });

  it('refuses to save through an uploads folder the model made a link out of the project', async () => {
    await h.start(AGENT);
    fs.mkdirSync(project(), { recursive: true });
    const target = outside();
    fs.symlinkSync(target, path.join(project(), 'uploads'));
    h.telegram.pushMedia(CHAT, { document: { data: Buffer.from('payload'), fileName: 'a.txt' } });
    const [notice] = await answered(1, 'the refusal');
    expect(notice).toMatch(/uploads/);
    await h.settled();
    expect(fs.readdirSync(target)).toEqual([]);
    expect(h.rows('SELECT status FROM inbox')).toEqual([{ status: 'skipped' }]);
    expect(h.openai.requests).toEqual([]);
  });

  it('never writes through a name in uploads/ planted as a link to a file outside', async () => {
    await h.start(AGENT);
    const target = outside();
    const victim = path.join(target, 'victim.txt');
    fs.writeFileSync(victim, 'original');
    fs.mkdirSync(path.join(project(), 'uploads'), { recursive: true });
    fs.symlinkSync(victim, path.join(project(), 'uploads', `${TODAY}-notes.txt`));
    h.telegram.pushMedia(CHAT, { document: { data: Buffer.from('overwrite?'), fileName: 'notes.txt' } });
    await answered(1, 'the answer');
    expect(fs.readFileSync(victim, 'utf8')).toBe('original');
    expect(fs.readFileSync(path.join(project(), 'uploads', `${TODAY}-notes-2.txt`), 'utf8')).toBe(
      'overwrite?',
    );
    expect(h.openai.requests[0]!.body.messages.at(-1)!.content).toContain(`uploads/${TODAY}-notes-2.txt`);
  });

  it('does not give the model an image the model replaced by a link out of the project', async () => {
    const target = outside();
    const secret = path.join(target, 'secret.jpg');
    fs.writeFileSync(secret, 'SECRET-BYTES');
    // the first run answers, then the photo's file is swapped for a link before the second run
    await h.start({ ...AGENT, OPENAI_VISION: 'on' });
    h.telegram.pushMedia(CHAT, { photo: [{ data: Buffer.from('real photo'), width: 10, height: 10 }] });
    await answered(1, 'the answer to the photo');
    const saved = path.join(project(), 'uploads', `${TODAY}-photo.jpg`);
    fs.rmSync(saved);
    fs.symlinkSync(secret, saved);
    h.telegram.pushMessage(CHAT, 'and now?');
    await answered(2, 'the second answer');
    const second = JSON.stringify(h.openai.requests[1]!.body);
    expect(second).not.toContain(Buffer.from('SECRET-BYTES').toString('base64'));
    expect(second).toContain('is no longer readable');
  });
});
