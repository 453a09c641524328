// What the side-by-side benchmark makes each contestant do. Every workload pushes messages into
// the contestant's fake Telegram and times the replies as the fake receives them.
import type { Contestant } from './contestants';
import { percentile } from './stats';

/** Messages from `chats` chats, `perChat` each. */
export interface Shape {
  readonly chats: number;
  readonly perChat: number;
}

/** The result of a burst. */
export interface BurstResult {
  readonly messages: number;
  /** Replies received; fewer than `messages` when the deadline came first. */
  readonly answered: number;
  readonly seconds: number;
  /** answered ÷ seconds. */
  readonly perSecond: number;
  readonly complete: boolean;
}

const REPLY_TIMEOUT_MS = 120_000;
// Between two messages of the idle workload: a person does not answer within a millisecond,
// and the bot gets to finish what follows a reply (its bookkeeping) as it would between messages.
const IDLE_GAP_MS = 50;

/** The chat ids `first`, `first + 1`, …, `count` of them. */
export function chatRange(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

function pushAll(c: Contestant, chats: readonly number[], perChat: number, label: string): number {
  // round-robin over the chats, as messages from many people arrive
  for (let i = 0; i < perChat; i++) for (const chat of chats) c.telegram.pushMessage(chat, `${label} ${i}`);
  return chats.length * perChat;
}

/**
 * Pushes every message at once; the time is from the push to the last reply. With `deadlineMs`,
 * a burst not answered by then counts what was answered instead of failing (the bot still works
 * through the rest afterwards).
 */
export async function burst(
  c: Contestant,
  chats: readonly number[],
  perChat: number,
  deadlineMs?: number,
): Promise<BurstResult> {
  c.forgetRecorded();
  const before = c.replies.count;
  const target = before + chats.length * perChat;
  const start = performance.now();
  const messages = pushAll(c, chats, perChat, 'burst');
  let end: number;
  if (deadlineMs !== undefined) {
    try {
      end = await c.replies.waitForCount(target, deadlineMs, `${c.name}: the burst`);
    } catch {
      end = performance.now();
    }
  } else {
    end = await untilStalled(c, target, `${c.name}: the burst`);
  }
  const answered = Math.min(messages, c.replies.count - before);
  const seconds = (end - start) / 1000;
  return { messages, answered, seconds, perSecond: answered / seconds, complete: answered === messages };
}

// A burst whose replies stop coming for this long has lost the rest (a bot that drops messages):
// it ends at its last reply, so the others' turns still run and the loss is reported
const STALL_MS = 10_000;

/** Waits for `target` replies; when no reply came for STALL_MS, resolves at the last one. */
async function untilStalled(c: Contestant, target: number, what: string): Promise<number> {
  for (;;) {
    const seen = c.replies.count;
    try {
      return await c.replies.waitForCount(target, STALL_MS, what);
    } catch (err) {
      if (c.replies.count === seen) {
        if (seen === 0) throw err;
        return c.replies.lastAt;
      }
    }
  }
}

/** Latency of single messages, each sent once the previous one was answered. */
export interface IdleResult {
  readonly latenciesMs: readonly number[];
  readonly p50Ms: number;
  readonly p95Ms: number;
}

/** Sends `count` messages one at a time to `chat` and times each send → reply. */
export async function idleLatency(c: Contestant, chat: number, count: number): Promise<IdleResult> {
  c.forgetRecorded();
  const latenciesMs: number[] = [];
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, IDLE_GAP_MS));
    const target = c.replies.count + 1;
    const start = performance.now();
    c.telegram.pushMessage(chat, `ping ${i}`);
    const end = await c.replies.waitForCount(target, REPLY_TIMEOUT_MS, `${c.name}: idle message ${i}`);
    latenciesMs.push(end - start);
  }
  return { latenciesMs, p50Ms: percentile(latenciesMs, 50), p95Ms: percentile(latenciesMs, 95) };
}

/** A burst against a slow model, against what its lanes would allow at best. */
export interface SlowResult {
  readonly makespanSeconds: number;
  readonly idealSeconds: number;
  /** makespan ÷ ideal: 1.0 is perfect use of the lanes. */
  readonly ratio: number;
}

/**
 * The best makespan of `shape` with a model that takes `modelMs` and `lanes` answers at a time:
 * a chat's messages go one after the other, and no more than `lanes` run at once.
 */
export function idealMakespanSeconds(shape: Shape, modelMs: number, lanes: number): number {
  const model = modelMs / 1000;
  const usable = Math.min(lanes, shape.chats);
  return Math.max(shape.perChat * model, (shape.chats * shape.perChat * model) / usable);
}

/** Pushes `shape` at once with the model answering after `modelMs`; makespan ÷ ideal. */
export async function slowModel(
  c: Contestant,
  chats: readonly number[],
  perChat: number,
  modelMs: number,
): Promise<SlowResult> {
  c.forgetRecorded();
  c.openai.setLatency(modelMs);
  try {
    const target = c.replies.count + chats.length * perChat;
    const start = performance.now();
    pushAll(c, chats, perChat, 'slow');
    const end = await c.replies.waitForCount(target, REPLY_TIMEOUT_MS, `${c.name}: the slow-model burst`);
    const makespanSeconds = (end - start) / 1000;
    const idealSeconds = idealMakespanSeconds({ chats: chats.length, perChat }, modelMs, c.lanes);
    return { makespanSeconds, idealSeconds, ratio: makespanSeconds / idealSeconds };
  } finally {
    c.openai.setLatency(0);
  }
}

/**
 * SIGKILLs the idle bot process, pushes a message at once, and times kill → reply (the process
 * manager restarts it; the message waits at the fake Telegram meanwhile).
 */
export async function killToReply(c: Contestant, chat: number, label: string): Promise<number> {
  const pid = c.pid();
  if (pid === undefined) throw new Error(`${c.name}: no running process to kill`);
  c.forgetRecorded();
  const target = c.replies.count + 1;
  const start = performance.now();
  process.kill(pid, 'SIGKILL');
  c.telegram.pushMessage(chat, label);
  const end = await c.replies.waitForCount(target, 60_000, `${c.name}: the reply after SIGKILL`);
  return end - start;
}
