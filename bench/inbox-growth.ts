// Benchmark: the real worker as its own process (`dist/worker/main.js`, as PM2 runs it, without
// PM2's injected @pm2/io) against the local fakes. Prints its RSS idle and after a burst of 300
// messages over 10 chats, and the burst's throughput, on an empty inbox and on one holding
// BENCH_DONE done rows (default 1,000,000) with BENCH_HISTORY history rows (default 100,000) in one
// chat. BENCH_ROOT runs another build (a checkout of main, to compare); BENCH_AGENT_TOOLS=off the
// plain answers. Not a test.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { openDatabase as OpenDatabase } from '../src/db/open';
import { startFakeOpenAI } from '../test/helpers/fake-openai';
import { startFakeTelegram } from '../test/helpers/fake-telegram';
import { workerEnv } from '../test/helpers/worker-env';

const ROOT = process.env.BENCH_ROOT ?? path.resolve(__dirname, '..', '..');
const MESSAGES = 300;
const CHATS = Array.from({ length: 10 }, (_, i) => 100 + i);
const DONE = Number(process.env.BENCH_DONE ?? 1_000_000);
const HISTORY = Number(process.env.BENCH_HISTORY ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** Done rows spread over the burst's chats (all older than the burst), and one chat's long history. */
function prefill(file: string, done: number, history: number): void {
  // the build under test creates the schema, so its own migrations (and indexes) apply
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { openDatabase } = require(path.join(ROOT, 'dist', 'db', 'open.js')) as {
    openDatabase: typeof OpenDatabase;
  };
  const { sqlite } = openDatabase(file);
  const at = Date.now() - 86_400_000;
  const inbox = sqlite.prepare(
    `INSERT INTO inbox (update_id, chat_id, message_id, kind, text, sent_at, status, attempts, available_at, received_at, started_at, finished_at, reply)
     VALUES (?, ?, ?, 'text', ?, ?, 'done', 1, ?, ?, ?, ?, ?)`,
  );
  const turn = sqlite.prepare(
    'INSERT INTO history (chat_id, role, text, inbox_id, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  sqlite.transaction(() => {
    for (let i = 0; i < done; i++) {
      const t = at + i;
      inbox.run(i - done, CHATS[i % CHATS.length], i, `old message ${i}`, t, t, t, t, t, `old reply ${i}`);
    }
    for (let i = 0; i < history; i++) {
      turn.run(CHATS[0], i % 2 ? 'assistant' : 'user', `turn ${i} of a long conversation`, null, at + i);
    }
  })();
  sqlite.close();
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

interface Round {
  readonly idleMb: number;
  readonly afterMb: number;
  readonly perSecond: number;
}

async function round(done: number, history: number): Promise<Round> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-bench-'));
  const file = path.join(dir, 'agent.db');
  if (done > 0 || history > 0) prefill(file, done, history);
  const telegram = await startFakeTelegram();
  const openai = await startFakeOpenAI();
  const env = workerEnv(telegram, openai, file, {
    TG_ALLOWED_CHAT_IDS: CHATS.join(','),
    WORKER_CONCURRENCY: '1',
    // BENCH_AGENT_TOOLS=off measures the plain answer (a run with no tools)
    ...(process.env.BENCH_AGENT_TOOLS ? { AGENT_TOOLS: process.env.BENCH_AGENT_TOOLS } : {}),
  });
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'worker', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: 'ignore',
  });
  try {
    await telegram.waitFor(
      () => telegram.callsOf('getUpdates').some((c) => Number(c.params.timeout) > 0),
      60_000,
    );
    // warm up one chat, then let the process settle
    for (let i = 0; i < 20; i++) telegram.pushMessage(CHATS[i % 2]!, `warm ${i}`);
    await telegram.waitFor(() => telegram.sent.length >= 20, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idleMb = rssMb(child.pid!);
    const before = telegram.sent.length;
    const start = performance.now();
    for (let i = 0; i < MESSAGES; i++) telegram.pushMessage(CHATS[i % CHATS.length]!, `burst ${i}`);
    await telegram.waitFor(() => telegram.sent.length >= before + MESSAGES, 600_000);
    const perSecond = MESSAGES / ((performance.now() - start) / 1000);
    return { idleMb, afterMb: rssMb(child.pid!), perSecond };
  } finally {
    child.kill('SIGKILL');
    await telegram.close();
    await openai.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const empty: Round[] = [];
  const full: Round[] = [];
  // interleaved, so the machine's load falls on both alike
  for (let i = 0; i < ROUNDS; i++) {
    empty.push(await round(0, 0));
    full.push(await round(DONE, HISTORY));
  }
  const line = (name: string, rounds: Round[]): string =>
    `${name}: burst ${median(rounds.map((r) => r.perSecond)).toFixed(0)} msg/s, RSS idle ${median(rounds.map((r) => r.idleMb)).toFixed(0)} MB, after the burst ${median(rounds.map((r) => r.afterMb)).toFixed(0)} MB (medians of ${rounds.length}: ${rounds.map((r) => r.perSecond.toFixed(0)).join(', ')} msg/s)`;
  console.log(`worker at ${ROOT}, WORKER_CONCURRENCY=1`);
  console.log(line('empty inbox', empty));
  console.log(line(`${DONE} done rows, ${HISTORY} history rows in one chat`, full));
  const ratio = median(full.map((r) => r.perSecond)) / median(empty.map((r) => r.perSecond));
  console.log(`full ÷ empty: ${ratio.toFixed(2)}× (target ≥ 0.9×)`);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
