import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram';
import { TEST_API_KEY } from '../helpers/worker-env';

// The image and scripts/redeploy with a real container engine (podman; run by `npm run
// test:container`, which .ci/run calls when it could install one): the README's command builds and
// starts it, the worker in the container answers through the fakes on the host (the container
// shares the host's network), a stop is graceful and a restart loses nothing, no secret is in a
// layer or in `inspect`, and a redeploy swaps the container with a pending message kept, or, for a
// build whose worker cannot start, starts the previous image again. Every wait is for an event.

jest.setTimeout(20 * 60_000);

const REPO = path.resolve(__dirname, '..', '..');
const ENGINE = process.env.AUTONOUS_ENGINE ?? 'podman';
const BASE = process.env.AUTONOUS_TEST_BASE_IMAGE ?? 'localhost/autonous-base:bookworm';
const NAME = `autonous-test-${process.pid}`;
const IMAGE = 'localhost/autonous-test';
const CHAT = 101;

interface Ran {
  readonly code: number;
  readonly out: string;
}

/** Runs a command without blocking the event loop (the fakes keep answering the container). */
function run(
  cmd: string,
  args: readonly string[],
  env: Record<string, string> = {},
  cwd = REPO,
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

async function engine(...args: string[]): Promise<string> {
  const ran = await run(ENGINE, args);
  if (ran.code !== 0) throw new Error(`${ENGINE} ${args.join(' ')} exited ${ran.code}: ${ran.out}`);
  return ran.out.trim();
}

let telegram: FakeTelegram;
let openai: FakeOpenAI;
let dir: string;
let secretsFile: string;

/** scripts/redeploy of the checkout at `from`, on the test's container, volume and secrets. */
function redeploy(from: string, healthSeconds = 120): Promise<Ran> {
  return run(path.join(from, 'scripts', 'redeploy'), [], {
    AUTONOUS_ENGINE: ENGINE,
    AUTONOUS_CONTAINER: NAME,
    AUTONOUS_IMAGE: IMAGE,
    AUTONOUS_VOLUME: NAME,
    AUTONOUS_SECRETS_FILE: secretsFile,
    BASE_IMAGE: BASE,
    AUTONOUS_HEALTH_SECONDS: String(healthSeconds),
    // the fakes listen on the host's 127.0.0.1
    AUTONOUS_RUN_ARGS: '--network host',
    AUTONOUS_BUILD_ARGS: '--network host',
  });
}

/** A copy of the checkout (sources only) with `change` applied, for a build that differs. */
function changedCopy(label: string, change: (root: string) => void): string {
  const root = path.join(dir, label);
  fs.cpSync(REPO, root, {
    recursive: true,
    filter: (src) => !/[/\\](node_modules|dist|dist-bench|state|coverage|\.git)$/.test(src),
  });
  change(root);
  return root;
}

/** The container's image id. */
function runningImage(): Promise<string> {
  return engine('container', 'inspect', '--format', '{{.Image}}', NAME);
}

/** The inbox as the container's database has it, read through the image's own node. */
async function inbox(): Promise<{ text: string | null; status: string }[]> {
  const out = await engine(
    'exec',
    NAME,
    'node',
    '-e',
    "const D=require('/app/node_modules/better-sqlite3');const d=new D('/state/agent.db',{readonly:true});" +
      "console.log(JSON.stringify(d.prepare('SELECT text, status FROM inbox ORDER BY id').all()))",
  );
  return JSON.parse(out) as { text: string | null; status: string }[];
}

beforeAll(async () => {
  const info = await run(ENGINE, ['info']);
  if (info.code !== 0) throw new Error(`${ENGINE} does not work here: ${info.out}`);
  if ((await run(ENGINE, ['image', 'exists', BASE])).code !== 0) {
    const made = await run(path.join(REPO, 'scripts', 'container-base'), [BASE], { AUTONOUS_ENGINE: ENGINE });
    if (made.code !== 0) throw new Error(`could not make the base image: ${made.out}`);
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-container-'));
  telegram = await startFakeTelegram();
  openai = await startFakeOpenAI();
  secretsFile = path.join(dir, 'secrets.env');
  fs.writeFileSync(
    secretsFile,
    [
      `TELEGRAM_BOT_TOKEN=${telegram.token}`,
      `OPENAI_API_KEY=${TEST_API_KEY}`,
      `TELEGRAM_API_ROOT=${telegram.url}`,
      `OPENAI_CHAT_COMPLETIONS_URL=${openai.chatCompletionsUrl}`,
      `TG_ALLOWED_CHAT_IDS=${CHAT}`,
      'TG_TIMEOUT=2',
      'TG_SLEEP_SECONDS=0.2',
      'WORKER_RETRY_BASE_SECONDS=0.2',
      'WORKER_RETRY_MAX_SECONDS=2',
      'OPENAI_TIMEOUT_SECONDS=900',
      'AGENT_APPROVAL=never',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}, 10 * 60_000);

afterAll(async () => {
  await run(ENGINE, ['rm', '-f', '-t', '0', NAME]);
  await run(ENGINE, ['volume', 'rm', '-f', NAME]);
  await run(ENGINE, ['secret', 'rm', `${NAME}-env`]);
  const images = await run(ENGINE, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
  for (const image of images.out.split('\n').filter((i) => i.startsWith(`${IMAGE}:`))) {
    await run(ENGINE, ['rmi', '-f', image]);
  }
  await telegram?.close();
  await openai?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the container image and scripts/redeploy', () => {
  let firstImage = '';

  it('builds and starts with scripts/redeploy, answers a message as a user without privileges, and doctor names the sandbox', async () => {
    const deployed = await redeploy(REPO);
    if (deployed.code !== 0) throw new Error(`scripts/redeploy failed:\n${deployed.out}`);
    expect(deployed.out).toMatch(/is healthy on/);
    firstImage = await runningImage();
    telegram.pushMessage(CHAT, 'hello container');
    await telegram.waitFor(
      () => telegram.sentTo(CHAT).some((m) => m.text === 'echo: hello container'),
      60_000,
      'the answer from the container',
    );
    expect(await engine('exec', NAME, 'id', '-u')).toBe('10001');
    const doctor = await run(ENGINE, ['exec', NAME, 'autonous', 'doctor']);
    expect(doctor.out).toMatch(/sandbox +commands run in bubblewrap/);
    // started without the flag that lets bwrap mount /proc: unsandboxed, and it says what to add
    const bare = await run(ENGINE, [
      'run',
      '--rm',
      '--network',
      'host',
      '--secret',
      `${NAME}-env,target=autonous.env,uid=10001,gid=10001,mode=0400`,
      '-e',
      'AUTONOUS_ENV_FILE=/run/secrets/autonous.env',
      '--entrypoint',
      'autonous',
      firstImage,
      'doctor',
    ]);
    expect(bare.out).toMatch(/sandbox +commands run unsandboxed: .*unmask=\/proc\/\*/);
  });

  it('stops gracefully, and a restart on the same volume loses nothing', async () => {
    const stopped = await run(ENGINE, ['stop', '--time', '20', NAME]);
    expect(stopped.code).toBe(0);
    expect(await engine('container', 'inspect', '--format', '{{.State.ExitCode}}', NAME)).toBe('0');
    const logs = await engine('logs', NAME);
    expect(logs).not.toMatch(/SIGKILL/);
    // sent while nothing runs: Telegram holds it, the restarted worker answers it
    telegram.pushMessage(CHAT, 'while stopped');
    await engine('start', NAME);
    await telegram.waitFor(
      () => telegram.sentTo(CHAT).some((m) => m.text === 'echo: while stopped'),
      60_000,
      'the answer after the restart',
    );
    expect(await inbox()).toEqual([
      { text: 'hello container', status: 'done' },
      { text: 'while stopped', status: 'done' },
    ]);
  });

  it('keeps the secrets out of every layer of the image and out of inspect', async () => {
    const tar = path.join(dir, 'image.tar');
    await engine('save', '--format', 'docker-archive', '-o', tar, firstImage);
    const bytes = fs.readFileSync(tar);
    const inspected =
      (await engine('image', 'inspect', firstImage)) + (await engine('container', 'inspect', NAME));
    const [, secretHalf] = telegram.token.split(':');
    for (const secret of [telegram.token, secretHalf!, TEST_API_KEY]) {
      expect(bytes.includes(Buffer.from(secret))).toBe(false);
      expect(inspected).not.toContain(secret);
    }
    fs.rmSync(tar);
  });

  it('redeploys a new build, keeping a message that was in flight when the old container stopped', async () => {
    const copy = changedCopy('next', (root) => {
      fs.appendFileSync(path.join(root, 'src', 'worker', 'main.ts'), '\n// build: next\n');
    });
    // the model holds this message's answer: it is in flight when the old container is stopped
    openai.failNext({ hang: true }, 1, (req) => JSON.stringify(req.messages).includes('in flight'));
    telegram.pushMessage(CHAT, 'in flight');
    await openai.waitFor(
      () => openai.requests.some((r) => JSON.stringify(r.body.messages).includes('in flight')),
      60_000,
      'the message in flight',
    );
    const deployed = await redeploy(copy);
    if (deployed.code !== 0) throw new Error(`scripts/redeploy failed:\n${deployed.out}`);
    const next = await runningImage();
    expect(next).not.toBe(firstImage);
    await telegram.waitFor(
      () => telegram.sentTo(CHAT).some((m) => m.text === 'echo: in flight'),
      60_000,
      'the message answered by the new container',
    );
    expect(telegram.sentTo(CHAT).filter((m) => m.text === 'echo: in flight')).toHaveLength(1);
    // the earlier build's image is no longer used, and is gone
    expect((await run(ENGINE, ['image', 'exists', firstImage])).code).not.toBe(0);
    firstImage = next;
  });

  it('starts the previous image again when the new build cannot start its worker', async () => {
    const copy = changedCopy('broken', (root) => {
      const main = path.join(root, 'src', 'worker', 'main.ts');
      fs.writeFileSync(main, `process.exit(3);\n${fs.readFileSync(main, 'utf8')}`);
    });
    const deployed = await redeploy(copy, 60);
    expect(deployed.code).toBe(1);
    expect(deployed.out).toMatch(/did not become healthy/);
    expect(deployed.out).toMatch(/runs the previous image again/);
    expect(await runningImage()).toBe(firstImage);
    telegram.pushMessage(CHAT, 'after the failed redeploy');
    await telegram.waitFor(
      () => telegram.sentTo(CHAT).some((m) => m.text === 'echo: after the failed redeploy'),
      60_000,
      'the answer from the previous image',
    );
  });
});
