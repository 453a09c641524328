/**
 * Self-release under the real PM2: both apps started from a checkout of their own (a copy of this
 * repository's sources and built dist/, one git commit, this repository's node_modules), the
 * local Telegram and OpenAI fakes, the scripted model. A chat changes autonous's own code in
 * project self, `/release` builds and checks it in the sandbox, an approver's press hands it to
 * the supervisor, which ships it as a candidate and promotes it or rolls it back.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type ChatCompletionRequest, startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { startFakeTelegram, type FakeTelegram, type SentMessage } from '../helpers/fake-telegram';
import { startPm2Sandbox, type Pm2Sandbox } from '../helpers/pm2-sandbox';
import { killAndRespawn } from '../helpers/pm2-world';
import { waitUntil } from '../helpers/wait-until';
import { workerEnv } from '../helpers/worker-env';

const REPO = path.resolve(__dirname, '..', '..');
const WORKER = 'autonous-worker';
const SUPERVISOR = 'autonous-supervisor';
const CHAT = 101;
const OLD_HELP = 'Commands:';
const NEW_HELP = 'Commands of the new autonous:';

jest.setTimeout(300_000);

const ENV = {
  AGENT_SELF: 'on',
  AGENT_APPROVAL: 'never',
  // a real check with counts, short enough for a test: one unit test file, through jest
  SELF_RELEASE_CHECK: 'node node_modules/jest/bin/jest.js --ci test/unit/commands.test.ts',
  SUPERVISOR_PROMOTE_AFTER_SECONDS: '3',
  SUPERVISOR_READY_SECONDS: '12',
  SUPERVISOR_CRASH_LOOP_RESTARTS: '3',
  SUPERVISOR_CRASH_LOOP_WINDOW_SECONDS: '60',
  SUPERVISOR_MIN_UPTIME_SECONDS: '5',
  SUPERVISOR_HEARTBEAT_TIMEOUT_SECONDS: '20',
  WORKER_HEARTBEAT_SECONDS: '1',
};

interface World {
  dir: string;
  home: string;
  dbPath: string;
  telegram: FakeTelegram;
  openai: FakeOpenAI;
  pm2: Pm2Sandbox;
}

/** A checkout of its own: the sources, the built dist/, one commit; packages linked from here. */
function makeCheckout(dir: string): string {
  const home = path.join(dir, 'checkout');
  fs.mkdirSync(home);
  for (const name of [
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'jest.config.js',
    'ecosystem.config.cjs',
    '.gitignore',
  ]) {
    fs.copyFileSync(path.join(REPO, name), path.join(home, name));
  }
  for (const name of ['src', 'drizzle', 'bin', 'test', 'dist']) {
    fs.cpSync(path.join(REPO, name), path.join(home, name), { recursive: true });
  }
  git(home, 'init', '-q', '--initial-branch=main');
  git(home, 'add', '-A');
  git(home, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'the running autonous');
  // after the commit: `node_modules/` in .gitignore does not match a link
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(home, 'node_modules'));
  return home;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' },
  });
}

async function startWorld(): Promise<World> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-self-'));
  const home = makeCheckout(dir);
  const dbPath = path.join(dir, 'state', 'agent.db');
  const telegram = await startFakeTelegram();
  const openai = await startFakeOpenAI();
  const pm2 = await startPm2Sandbox({
    env: workerEnv(telegram, openai, dbPath, ENV),
    ecosystem: path.join(home, 'ecosystem.config.cjs'),
  });
  const world = { dir, home, dbPath, telegram, openai, pm2 };
  await telegram.waitFor(
    () => telegram.callsOf('getUpdates').some((c) => Number(c.params.timeout) > 0),
    30_000,
    'the worker long-polling',
  );
  await waitUntil(
    () => rows(world, `SELECT id FROM supervisor_revisions WHERE status = 'good'`).length === 1,
    20_000,
    () => `no first revision; supervisor log:\n${pm2.logs('supervisor').err}`,
  );
  return world;
}

async function stopWorld(world: World | undefined): Promise<void> {
  if (!world) return;
  await world.pm2.kill();
  await world.telegram.close();
  await world.openai.close();
  fs.rmSync(world.dir, { recursive: true, force: true });
}

function rows<T = Record<string, unknown>>(world: World, sql: string): T[] {
  const db = new Database(world.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

function toolResults(req: ChatCompletionRequest): string[] {
  return req.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));
}

function sent(world: World): SentMessage[] {
  return world.telegram.sentTo(CHAT);
}

/** Sends a message and waits for the answer that `match` picks among those sent after it. */
async function ask(
  world: World,
  text: string,
  match: (m: SentMessage) => boolean,
  what: string,
): Promise<SentMessage> {
  const before = sent(world).length;
  world.telegram.pushMessage(CHAT, text);
  await world.telegram.waitFor(() => sent(world).slice(before).some(match), 120_000, what);
  return sent(world).slice(before).find(match)!;
}

function selfRoot(world: World): string {
  return path.join(path.dirname(world.dbPath), 'workspaces', 'self');
}

/** A commit in project self made the way a run's command would (the agent's work). */
function commitInSelf(world: World, file: string, change: (text: string) => string, message: string): void {
  const full = path.join(selfRoot(world), file);
  fs.writeFileSync(full, change(fs.existsSync(full) ? fs.readFileSync(full, 'utf8') : ''));
  git(selfRoot(world), 'add', file);
  git(selfRoot(world), 'commit', '-qm', message);
}

function revertLastInSelf(world: World): void {
  git(selfRoot(world), 'revert', '--no-edit', 'HEAD');
}

/** `/release`, then the card (or the refusal). */
function release(world: World): Promise<SentMessage> {
  return ask(world, '/release', (m) => /^Release #\d+/.test(m.text), 'the answer to /release');
}

/** Presses Release on a card, as the approver. */
function pressRelease(world: World, card: SentMessage): void {
  const button = (card.keyboard ?? []).flat().find((b) => b.text === 'Release');
  expect(button).toBeDefined();
  world.telegram.pushCallbackQuery(CHAT, CHAT, card.messageId, String(button!.callback_data));
}

function told(world: World, pattern: RegExp): string[] {
  return sent(world)
    .map((m) => m.text)
    .filter((t) => pattern.test(t));
}

async function helpText(world: World): Promise<string> {
  return (await ask(world, '/help', (m) => m.text.includes('/release'), 'the /help answer')).text;
}

describe('self-release under PM2', () => {
  let world: World | undefined;
  afterEach(async () => {
    await stopWorld(world);
    world = undefined;
  });

  it('a run changes /help in project self; /release, the card, Release: the new worker answers with the new text, promoted, each step told once', async () => {
    world = await startWorld();
    const w = world;
    w.openai.script([
      {
        toolCalls: [
          {
            name: 'edit',
            arguments: {
              path: 'src/worker/commands.ts',
              old_text: `'${OLD_HELP}'`,
              new_text: `'${NEW_HELP}'`,
            },
          },
          // and its test, which the release's check runs
          {
            name: 'edit',
            arguments: {
              path: 'test/unit/commands.test.ts',
              old_text: `toBe('${OLD_HELP}')`,
              new_text: `toBe('${NEW_HELP}')`,
            },
          },
        ],
      },
      'I changed the heading of /help.',
    ]);
    await ask(w, '/project self', (m) => m.text.startsWith('Switched to project self'), 'the switch');
    expect(fs.existsSync(path.join(selfRoot(w), '.git'))).toBe(true);
    await ask(w, 'change the heading of /help', (m) => m.text.includes('I changed the heading'), 'the run');
    expect(git(selfRoot(w), 'log', '--format=%s', '-1')).not.toBe('the running autonous');

    // the worker dies while it builds: the message is taken again, built again, one card
    w.telegram.pushMessage(CHAT, '/release');
    await waitUntil(
      () =>
        rows(w, `SELECT 1 FROM self_releases WHERE status = 'checking' AND "commit" IS NOT NULL`).length ===
        1,
      60_000,
      () => JSON.stringify(rows(w, 'SELECT id, status FROM self_releases')),
    );
    await killAndRespawn(w.pm2, WORKER);
    await w.telegram.waitFor(
      () => told(w, /^Release #1 of project self/).length === 1,
      120_000,
      'the card after the restart',
    );
    const card = sent(w).find((m) => /^Release #1 of project self/.test(m.text))!;
    expect(card.text).toMatch(/^Release #1 of project self, commit [0-9a-f]{7}/);
    expect(card.text).toMatch(/1 commit since r1-[0-9a-f]{7}/);
    expect(card.text).toContain('src/worker/commands.ts');
    expect(card.text).toMatch(/Checks passed in [\d.]+ s: \d+ of \d+ tests passed/);
    expect(card.keyboard?.flat().map((b) => b.text)).toEqual(['Release', 'Cancel']);

    const killedSupervisorAt = Date.now();
    pressRelease(w, card);
    // the supervisor dies around the request: the restarted one ships it
    await w.pm2.killProcess(SUPERVISOR, 'SIGKILL');
    await w.telegram.waitFor(
      () => told(w, /^Release #1 is out as r2-/).length === 1,
      90_000,
      'the chat told of the release',
    );
    // and the candidate is killed once while it runs (once it has recorded that it told the chat,
    // which the fake sees a moment before): PM2 starts it again, it still gets promoted
    await waitUntil(
      () => rows(w, 'SELECT 1 FROM self_releases WHERE released_told_at IS NOT NULL').length === 1,
      10_000,
      () => JSON.stringify(rows(w, 'SELECT id, status, released_told_at FROM self_releases')),
    );
    await killAndRespawn(w.pm2, WORKER);
    await w.telegram.waitFor(
      () => told(w, /^r2-[0-9a-f]{7} is promoted/).length === 1,
      90_000,
      'the promotion',
    );
    expect(await helpText(w)).toContain(NEW_HELP);

    const revisions = rows<{ id: string; status: string; origin: string; commit: string | null }>(
      w,
      'SELECT id, status, origin, "commit" FROM supervisor_revisions ORDER BY created_at',
    );
    expect(revisions.map((r) => [r.id.split('-')[0], r.status, r.origin])).toEqual([
      ['r1', 'good', 'first-start'],
      ['r2', 'good', 'self-release'],
    ]);
    expect(revisions[1]!.commit).toBe(git(selfRoot(w), 'rev-parse', 'HEAD').trim());
    // each step once: the card, released, promoted
    expect(told(w, /^Release #1 of project self/)).toHaveLength(1);
    expect(told(w, /^Release #1 is out as/)).toHaveLength(1);
    expect(told(w, /is promoted/)).toHaveLength(1);
    expect(told(w, /rolled back/)).toHaveLength(0);
    console.log(
      `self-release #1 promoted ${Math.round((Date.now() - killedSupervisorAt) / 1000)} s after the press`,
    );
  });

  it('refuses before anything runs a change to the supervisor, to package.json, or a destructive migration, from /release and from the agent’s release tool, and a link a check plants in the build', async () => {
    world = await startWorld();
    const w = world;
    await ask(w, '/project self', (m) => m.text.startsWith('Switched to project self'), 'the switch');
    const cases: [string, (t: string) => string, RegExp][] = [
      [
        'src/supervisor-hooks/policy.ts',
        (t) => `${t}\n// a change\n`,
        /changes src\/supervisor-hooks\/policy\.ts/,
      ],
      ['package.json', (t) => t.replace('"private": true', '"private": false'), /changes package\.json/],
      ['drizzle/0099_drop.sql', () => 'ALTER TABLE `inbox` DROP COLUMN `media`;\n', /drops a column/],
    ];
    for (const [file, change, reason] of cases) {
      commitInSelf(w, file, change, `touch ${file}`);
      const answer = await release(w);
      expect(answer.text).toMatch(/refused before anything ran/);
      expect(answer.text).toMatch(reason);
      expect(answer.keyboard).toBeUndefined();
      revertLastInSelf(w);
    }
    // the agent's `release` tool is refused the same way, before anything runs
    commitInSelf(w, 'src/supervisor-hooks/policy.ts', (t) => `${t}\n// a change\n`, 'touch the judge');
    w.openai.script([
      { toolCalls: [{ name: 'release', arguments: {} }] },
      (req) => `TOOL SAID: ${toolResults(req).at(-1)}`,
    ]);
    const refusedByTool = await ask(w, 'release it', (m) => m.text.startsWith('TOOL SAID:'), 'the run');
    expect(refusedByTool.text).toMatch(
      /refused before anything ran: it changes src\/supervisor-hooks\/policy\.ts/,
    );
    revertLastInSelf(w);
    // nothing was built, nothing released
    expect(fs.existsSync(path.join(path.dirname(w.dbPath), 'self-builds'))).toBe(false);
    expect(fs.existsSync(path.join(selfRoot(w), 'dist'))).toBe(false);
    expect(rows(w, 'SELECT id FROM supervisor_revisions')).toHaveLength(1);

    // a change it may ship: the tool builds, checks and sends the card; Cancel releases nothing
    commitInSelf(w, 'NOTES.md', () => 'A note.\n', 'a note');
    w.openai.script([
      { toolCalls: [{ name: 'release', arguments: {} }] },
      (req) => `TOOL SAID: ${toolResults(req).at(-1)}`,
    ]);
    const sentByTool = await ask(w, 'release the note', (m) => m.text.startsWith('TOOL SAID:'), 'the run');
    expect(sentByTool.text).toMatch(/The card was sent to the chat/);
    const card = sent(w).find((m) => /^Release #\d+ of project self/.test(m.text))!;
    expect(card.text).toMatch(/Checks passed/);
    // a press by someone who is not an approver decides nothing
    const go = (card.keyboard ?? []).flat().find((b) => b.text === 'Release')!;
    w.telegram.pushCallbackQuery(CHAT, 555, card.messageId, String(go.callback_data));
    await w.telegram.waitFor(
      () =>
        w.telegram.callbackAnswers.some(
          (a) => a.text === 'Only an approver (AGENT_APPROVERS) may release autonous.',
        ),
      30_000,
      'the press refused',
    );
    expect(rows(w, `SELECT status FROM self_releases WHERE status IN ('requested', 'released')`)).toEqual([]);
    expect(w.telegram.message(CHAT, card.messageId)!.keyboard).toBeDefined();
    const cancel = (card.keyboard ?? []).flat().find((b) => b.text === 'Cancel')!;
    w.telegram.pushCallbackQuery(CHAT, CHAT, card.messageId, String(cancel.callback_data));
    await w.telegram.waitFor(
      () => /Cancelled: nothing was released\.$/.test(w.telegram.message(CHAT, card.messageId)!.text),
      30_000,
      'the card closed',
    );
    expect(w.telegram.message(CHAT, card.messageId)!.keyboard).toBeUndefined();
    expect(rows(w, 'SELECT id FROM supervisor_revisions')).toHaveLength(1);

    // the project's own tests run in the checks: one plants a link to a host file in the build
    commitInSelf(
      w,
      'test/unit/commands.test.ts',
      (t) =>
        `${t}\nit('plants a link in the build', () => {\n  require('node:fs').symlinkSync('/etc/hostname', 'dist/worker/planted.js');\n});\n`,
      'plant a link',
    );
    const planted = await release(w);
    expect(planted.text).toMatch(
      /^Release #\d+ not offered\. The build cannot be released: dist\/worker\/planted\.js .*a link/,
    );
    expect(planted.keyboard).toBeUndefined();
    const builds = path.join(path.dirname(w.dbPath), 'self-builds');
    const copied = fs
      .readdirSync(builds)
      .some((id) => fs.existsSync(path.join(builds, id, 'dist', 'worker', 'planted.js')));
    expect(copied).toBe(false);
    expect(rows(w, 'SELECT id FROM supervisor_revisions')).toHaveLength(1);
  });

  it('a release that throws at start and one that never polls are rolled back with the reason; two in a row turn self-release off', async () => {
    world = await startWorld();
    const w = world;
    await ask(w, '/project self', (m) => m.text.startsWith('Switched to project self'), 'the switch');

    // 1: the worker throws at start
    commitInSelf(
      w,
      'src/worker/main.ts',
      (t) => `if (process.pid > 0) throw new Error('a broken start');\n${t}`,
      'break the start',
    );
    const first = await release(w);
    expect(first.text).toMatch(/Checks passed/);
    const pressedAt = Date.now();
    pressRelease(w, first);
    await w.telegram.waitFor(
      () => told(w, /^r2-[0-9a-f]{7} was rolled back: /).length === 1,
      90_000,
      'rollback 1',
    );
    const rolledBackIn = Date.now() - pressedAt;
    expect(rolledBackIn).toBeLessThan(60_000);
    expect(told(w, /^r2-/)[0]).toMatch(/crashed .*; r1-[0-9a-f]{7} is running again\.$/);
    expect(await helpText(w)).toContain(OLD_HELP);
    revertLastInSelf(w);

    // 2: the worker starts, beats, but never polls Telegram
    commitInSelf(
      w,
      'src/worker/polling.ts',
      (t) =>
        t.replace(
          'const done = ingress.run(signal)',
          'const done = new Promise<void>(() => setInterval(() => void signal, 1000))',
        ),
      'never poll',
    );
    const second = await release(w);
    expect(second.text).toMatch(/Checks passed/);
    pressRelease(w, second);
    await w.telegram.waitFor(
      () => told(w, /^r3-[0-9a-f]{7} was rolled back: /).length === 1,
      120_000,
      'rollback 2',
    );
    const line = told(w, /^r3-/)[0]!;
    expect(line).toMatch(/not ready .*poll of Telegram/);
    expect(line).toMatch(/Self-release is off/);

    // off until an approver turns it on again
    const refused = await ask(w, '/release', (m) => /^Self-release is off/.test(m.text), 'the refusal');
    expect(refused.text).toMatch(/\/release on/);
    const status = await ask(w, '/status', (m) => m.text.includes('Self-release:'), '/status');
    expect(status.text).toMatch(/Self-release: off/);
    const cli = execFileSync(path.join(REPO, 'bin', 'autonous'), ['status'], {
      encoding: 'utf8',
      env: { ...process.env, TG_DB_PATH: w.dbPath, PM2_HOME: w.pm2.home, AUTONOUS_ENV_FILE: '/dev/null' },
    });
    expect(cli).toMatch(/self-release.*off/i);
    await ask(w, '/release on', (m) => m.text.startsWith('Self-release is on again'), '/release on');
    // each outcome told once
    expect(told(w, /was rolled back/)).toHaveLength(2);
    expect(rows(w, `SELECT status FROM supervisor_revisions ORDER BY created_at`)).toEqual([
      { status: 'good' },
      { status: 'bad' },
      { status: 'bad' },
    ]);
    console.log(
      `a release that throws at start rolled back ${Math.round(rolledBackIn / 1000)} s after the press`,
    );
  });
});
