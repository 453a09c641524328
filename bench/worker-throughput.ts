// Benchmark: messages through the real worker (in this process) against the local fakes with no
// injected latency: how long from a message reaching Telegram to its reply, and how many
// messages a second, at WORKER_CONCURRENCY 1 and 4. It measures and prints; it is not a test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadWorkerConfig } from '../src/shared/config';
import { startWorker } from '../src/worker/app';
import { startFakeOpenAI } from '../test/helpers/fake-openai';
import { startFakeTelegram } from '../test/helpers/fake-telegram';
import { workerEnv } from '../test/helpers/worker-env';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 300);
const CHATS = 10;
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(concurrency: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-bench-'));
  const telegram = await startFakeTelegram();
  const openai = await startFakeOpenAI();
  const chats = Array.from({ length: CHATS }, (_, i) => 100 + i);
  const env = workerEnv(telegram, openai, path.join(dir, 'agent.db'), {
    WORKER_CONCURRENCY: String(concurrency),
    TG_ALLOWED_CHAT_IDS: chats.join(','),
  });
  const worker = await startWorker(loadWorkerConfig(env), { log: quiet });
  await telegram.waitFor(
    () => telegram.callsOf('getUpdates').some((c) => Number(c.params.timeout) > 0),
    10_000,
  );

  // latency: one message at a time, so nothing queues behind it
  const latencies: number[] = [];
  for (let i = 0; i < 50; i++) {
    const sentBefore = telegram.sent.length;
    const pushed = performance.now();
    telegram.pushMessage(chats[0]!, `ping ${i}`);
    await telegram.waitFor(() => telegram.sent.length > sentBefore, 10_000);
    latencies.push(performance.now() - pushed);
  }
  latencies.sort((a, b) => a - b);

  // throughput: a burst over all chats
  const before = telegram.sent.length;
  const start = performance.now();
  for (let i = 0; i < MESSAGES; i++) telegram.pushMessage(chats[i % CHATS]!, `burst ${i}`);
  await telegram.waitFor(() => telegram.sent.length >= before + MESSAGES, 120_000);
  const seconds = (performance.now() - start) / 1000;

  await worker.stop(1000);
  await telegram.close();
  await openai.close();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(
    `concurrency ${concurrency}: message → reply latency median ${percentile(latencies, 50).toFixed(1)} ms ` +
      `(p95 ${percentile(latencies, 95).toFixed(1)} ms, 50 messages); ` +
      `burst of ${MESSAGES} over ${CHATS} chats: ${(MESSAGES / seconds).toFixed(0)} messages/s`,
  );
}

async function main(): Promise<void> {
  for (const concurrency of [1, 4]) await run(concurrency);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
