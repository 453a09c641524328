import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { loadWorkerConfig } from '../../src/shared/config';
import type { Logger } from '../../src/shared/log';
import { startWorker, type WorkerHandle } from '../../src/worker/app';
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai';
import { startFakeTelegram, type FakeTelegram } from './fake-telegram';
import { waitUntil } from './wait-until';
import { workerEnv } from './worker-env';

/** Log lines a test worker wrote, to assert on (and to prove nothing secret was logged). */
export interface CapturedLog extends Logger {
  readonly lines: string[];
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const write =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      lines.push(`${level} ${msg} ${fields ? JSON.stringify(fields) : ''}`);
    };
  return { lines, debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** One test's world: fresh fakes, a temp database, and the workers it started (stopped after). */
export interface WorkerHarness {
  readonly telegram: FakeTelegram;
  readonly openai: FakeOpenAI;
  readonly dbPath: string;
  readonly log: CapturedLog;
  start(extra?: Record<string, string>): Promise<WorkerHandle>;
  rows(sql: string, ...params: unknown[]): Record<string, unknown>[];
  /** Waits until no item is queued, processing or failed (a reply is sent before its row is done). */
  settled(timeoutMs?: number): Promise<void>;
}

/**
 * Registers beforeEach/afterEach that give every test its own fakes and database, and stop
 * every worker it started even when the test fails. Read the fields inside tests only.
 */
export function useWorkerHarness(): WorkerHarness {
  let dir = '';
  let telegram: FakeTelegram | undefined;
  let openai: FakeOpenAI | undefined;
  let log = captureLog();
  const workers: WorkerHandle[] = [];
  const harness: WorkerHarness = {
    get telegram() {
      return telegram!;
    },
    get openai() {
      return openai!;
    },
    get dbPath() {
      return path.join(dir, 'agent.db');
    },
    get log() {
      return log;
    },
    async start(extra = {}) {
      const config = loadWorkerConfig(workerEnv(telegram!, openai!, harness.dbPath, extra));
      const worker = await startWorker(config, { log });
      workers.push(worker);
      return worker;
    },
    async settled(timeoutMs = 10_000) {
      await waitUntil(
        () =>
          harness.rows(`SELECT 1 FROM inbox WHERE status IN ('queued', 'processing', 'failed')`).length === 0,
        timeoutMs,
        () =>
          `inbox not settled after ${timeoutMs} ms: ${JSON.stringify(harness.rows('SELECT id, status FROM inbox'))}`,
      );
    },
    rows(sql, ...params) {
      const db = new Database(harness.dbPath, { readonly: true });
      try {
        return db.prepare(sql).all(...params) as Record<string, unknown>[];
      } finally {
        db.close();
      }
    },
  };
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-worker-'));
    telegram = await startFakeTelegram();
    openai = await startFakeOpenAI();
    log = captureLog();
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop(1000);
    await telegram?.close();
    await openai?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return harness;
}

/** Unix seconds now, as Telegram dates messages. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}
