// Does the worker's cost grow with the inbox? The same burst at WORKER_CONCURRENCY=1 against a
// fresh database and against one that already holds a long past: many `done` rows over the
// burst's chats and a long history in one of them. Both workers run under PM2 at once, bursts
// interleaved after warm-up ones.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db/open';
import { startAutonous, type Contestant } from './contestants';
import { median } from './stats';
import { burst, chatRange } from './workloads';

/** Options of `runClaimScale`. */
export interface ClaimScaleOptions {
  /** `done` rows put in the inbox before the worker starts. */
  readonly doneRows: number;
  /** History rows put in the first burst chat. */
  readonly historyRows: number;
  readonly burstChats: number;
  readonly burstPerChat: number;
  readonly warmup: number;
  readonly rounds: number;
  /** A burst not answered by then ends the comparison with what was answered. */
  readonly deadlineMs: number;
}

/** The figures of `runClaimScale`. */
export interface ClaimScaleResult {
  readonly doneRows: number;
  readonly historyRows: number;
  readonly prefillSeconds: number;
  readonly emptyPerSecond: number[];
  readonly prefilledPerSecond: number[];
  /** median(prefilled) ÷ median(empty). */
  readonly ratio: number;
  /**
   * Set when a burst missed the deadline: the comparison stopped there, that burst's throughput
   * (answered ÷ time) is its side's figure, and a side without a counted burst keeps its warm-up one.
   */
  readonly timedOut?: TimedOut;
}

/** A burst that missed the deadline. */
export interface TimedOut {
  readonly who: string;
  readonly answered: number;
  readonly messages: number;
  readonly seconds: number;
}

// Done rows spread over this many chats, the burst's among them: an inbox of a bot that has
// been answering for a while.
const PAST_CHATS = 100;
const DAY_MS = 86_400_000;

/**
 * Fills a migrated database with `doneRows` answered messages (update ids below any Telegram will
 * send, as older messages have) and `historyRows` turns of `historyChat`, in one statement each.
 */
export function prefill(file: string, firstChat: number, doneRows: number, historyRows: number): void {
  const handle = openDatabase(file);
  try {
    const t0 = Date.now() - 30 * DAY_MS;
    const sqlite = handle.sqlite;
    sqlite
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @rows)
         INSERT INTO inbox (update_id, chat_id, message_id, kind, text, sent_at, status, attempts,
                            available_at, reply, reply_parts_sent, received_at, started_at, finished_at)
         SELECT i - @rows - 1, @firstChat + i % ${PAST_CHATS}, i, 'text', 'an earlier message ' || i,
                @t0 + i, 'done', 1, @t0 + i, 'echo: an earlier message ' || i, 1, @t0 + i, @t0 + i, @t0 + i + 5
         FROM n`,
      )
      .run({ rows: doneRows, firstChat, t0 });
    sqlite
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @rows)
         INSERT INTO history (chat_id, role, text, inbox_id, created_at)
         SELECT @chat, CASE i % 2 WHEN 1 THEN 'user' ELSE 'assistant' END,
                CASE i % 2 WHEN 1 THEN 'an earlier message ' || i ELSE 'echo: an earlier message ' || i END,
                NULL, @t0 + i
         FROM n`,
      )
      .run({ rows: historyRows, chat: firstChat, t0 });
  } finally {
    handle.close();
  }
}

/** Runs the comparison; `track` registers each contestant for cleanup by the caller. */
export async function runClaimScale(
  options: ClaimScaleOptions,
  track: (c: Contestant) => void,
): Promise<ClaimScaleResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-claim-'));
  const chats = chatRange(101, options.burstChats);
  const allowed = chatRange(101, PAST_CHATS);
  try {
    const prefilledDb = path.join(dir, 'prefilled', 'agent.db');
    const started = performance.now();
    prefill(prefilledDb, chats[0]!, options.doneRows, options.historyRows);
    const prefillSeconds = (performance.now() - started) / 1000;
    const [empty, prefilled] = await Promise.all([
      startAutonous({
        name: 'empty',
        concurrency: 1,
        allowedChats: allowed,
        dbPath: path.join(dir, 'empty', 'agent.db'),
      }),
      startAutonous({ name: 'prefilled', concurrency: 1, allowedChats: allowed, dbPath: prefilledDb }),
    ]);
    track(empty);
    track(prefilled);
    const runs = new Map<Contestant, { perSecond: number; counted: boolean }[]>([
      [empty, []],
      [prefilled, []],
    ]);
    let timedOut: TimedOut | undefined;
    try {
      // A bot many times too slow would keep the run going for hours: its first late burst ends it.
      for (let round = 0; round < options.warmup + options.rounds && !timedOut; round++) {
        const order = round % 2 === 0 ? [empty, prefilled] : [prefilled, empty];
        for (const c of order) {
          const result = await burst(c, chats, options.burstPerChat, options.deadlineMs);
          const counted = round >= options.warmup || !result.complete;
          runs.get(c)!.push({ perSecond: result.perSecond, counted });
          if (!result.complete) {
            timedOut = {
              who: c.name,
              answered: result.answered,
              messages: result.messages,
              seconds: result.seconds,
            };
            break;
          }
        }
      }
    } finally {
      await Promise.all([empty.stop(), prefilled.stop()]);
    }
    const figures = (c: Contestant): number[] => {
      const all = runs.get(c)!;
      const counted = all.filter((r) => r.counted);
      return (counted.length > 0 ? counted : all.slice(-1)).map((r) => r.perSecond);
    };
    const emptyPerSecond = figures(empty);
    const prefilledPerSecond = figures(prefilled);
    return {
      doneRows: options.doneRows,
      historyRows: options.historyRows,
      prefillSeconds,
      emptyPerSecond,
      prefilledPerSecond,
      ratio: median(prefilledPerSecond) / median(emptyPerSecond),
      ...(timedOut ? { timedOut } : {}),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
