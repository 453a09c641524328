// Benchmark: a coding conversation of 60 messages in one chat, each an agent run of 1–6 tool calls
// (reads of files of 2–40 KB, ls, grep, a few writes) and an answer, through the real built worker
// (`dist/worker/main.js` as its own process) against the fake Telegram and a scripted fake model
// that counts cached tokens by OpenAI's rule (the longest prefix shared with an earlier request of
// the same `prompt_cache_key`, from 1,024 tokens, in 128-token steps). Message k+1 is sent once
// message k is answered and settled. The model answers a compaction request (its last user message
// starts with "Summarize the conversation so far") with a summary of about 300 words.
//
// It prints, for the build under test and another build side by side: prompt tokens per request
// (median, max), the cached share of all prompt tokens, the largest request against the window,
// compactions, and the largest request of the last third of the messages against the first third;
// then the targets for the build under test. It measures and prints; it is not a test.
//
//   BENCH_ROOT      the build under test (default: this checkout; `npm run bench` builds it first)
//   BENCH_BASE      the build to compare with: a folder holding dist/, or `none`. Default: a git
//                   worktree of 5f1c373 at <tmp>/autonous-bench-5f1c373 sharing this checkout's
//                   node_modules, made and built on first use (`git worktree remove` removes it)
//   BENCH_WINDOW    AGENT_CONTEXT_TOKENS, and the window the figures compare with (128000)
//   BENCH_MESSAGES (60)  BENCH_SEED (16)  BENCH_SANDBOX: AGENT_SANDBOX (off)
//   BENCH_OUT       a file to write every request's figures to, as JSON
//   BENCH_RUN_TOKENS  AGENT_MAX_RUN_TOKENS (10^12: every build plays the whole script); `default`
//                   keeps the build's own, and the runs it ends count as not answered by the model
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  lastUserText,
  startFakeOpenAI,
  type ChatCompletionRequest,
  type ReplyFn,
} from '../test/helpers/fake-openai';
import { startFakeTelegram } from '../test/helpers/fake-telegram';
import { waitUntil } from '../test/helpers/wait-until';
import { workerEnv } from '../test/helpers/worker-env';
import { ensureBaseBuild, workerMain } from './lib/base-build';
import {
  COMPACTION_PROMPT,
  answerMark,
  generateProject,
  planConversation,
  summaryText,
  writeProject,
  type PlannedMessage,
  type ProjectFiles,
} from './lib/coding-session';
import { markdown } from './lib/markdown-table';
import { max, median } from './lib/stats';

const REPO = path.resolve(__dirname, '..', '..');
const BASE_COMMIT = '5f1c373';
const CHAT = 101;
const ANSWER_TIMEOUT_MS = 180_000;
// the run budget is not what this measures: every build plays the whole script unless told
const RUN_TOKENS = process.env.BENCH_RUN_TOKENS ?? String(10 ** 12);

function setting(name: string, normal: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? normal : Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive whole number, not ${raw}.`);
  return value;
}

const WINDOW = setting('BENCH_WINDOW', 128_000);
const MESSAGES = setting('BENCH_MESSAGES', 60);
const SEED = setting('BENCH_SEED', 16);

/** One answered model request, as the fake counted it. */
interface RequestFigure {
  /** The message whose run (or compaction) sent it. */
  readonly message: number;
  readonly compaction: boolean;
  readonly promptTokens: number;
  readonly cachedTokens: number;
}

/** What one build did with the conversation. */
interface SessionFigures {
  readonly name: string;
  readonly requests: readonly RequestFigure[];
  /** Messages whose reply was not the model's answer (a limit, a failure). */
  readonly unanswered: number;
  readonly seconds: number;
}

/** Plays the conversation against the build at `root`. */
async function playSession(
  name: string,
  root: string,
  files: ProjectFiles,
  plan: readonly PlannedMessage[],
): Promise<SessionFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-bench-sessions-'));
  const dbPath = path.join(dir, 'agent.db');
  writeProject(path.join(dir, 'workspaces', 'default'), files);

  // the scripted model: message `current`'s steps in order, then its answer; summaries on request
  let current = 0;
  const played = new Map<number, number>();
  const tags = new WeakMap<ChatCompletionRequest, { message: number; compaction: boolean }>();
  let compactions = 0;
  const reply: ReplyFn = (req) => {
    if (lastUserText(req).startsWith(COMPACTION_PROMPT)) {
      tags.set(req, { message: current, compaction: true });
      return summaryText(SEED + ++compactions);
    }
    tags.set(req, { message: current, compaction: false });
    const message = plan[current - 1];
    if (!message) throw new Error(`a request came while no message was open (after message ${current})`);
    const step = played.get(current) ?? 0;
    played.set(current, step + 1);
    const calls = message.steps[step];
    if (!calls) return message.answer;
    return {
      // ids as long as the API's, and the same in every build
      toolCalls: calls.map((call, i) => ({
        id: `call_${`m${current}s${step}c${i}`.padEnd(24, '0')}`,
        name: call.name,
        arguments: call.arguments,
      })),
    };
  };

  const telegram = await startFakeTelegram();
  const openai = await startFakeOpenAI({ promptCache: true, reply });
  const log = fs.openSync(path.join(dir, 'worker.log'), 'a');
  const env = workerEnv(telegram, openai, dbPath, {
    HOME: dir,
    TG_ALLOWED_CHAT_IDS: String(CHAT),
    AGENT_APPROVAL: 'never',
    AGENT_SANDBOX: process.env.BENCH_SANDBOX ?? 'off',
    AGENT_CONTEXT_TOKENS: String(WINDOW),
    ...(RUN_TOKENS === 'default' ? {} : { AGENT_MAX_RUN_TOKENS: RUN_TOKENS }),
    // the fake is not api.openai.com: ask for the key explicitly (an older build ignores it)
    OPENAI_PROMPT_CACHE_KEY: 'on',
  });
  const child = spawn(process.execPath, [workerMain(root)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', log, log],
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `the worker exited (${signal ?? code})`));
  let db: Database.Database | undefined;
  let statusOf: Database.Statement<[number, number], { status: string }> | undefined;
  // whether the worker has settled a message's inbox row (its reply is sent before)
  const settled = (messageId: number): boolean => {
    if (!db && fs.existsSync(dbPath)) {
      db = new Database(dbPath, { readonly: true });
      statusOf = db.prepare('SELECT status FROM inbox WHERE chat_id = ? AND message_id = ?');
    }
    const row = statusOf?.get(CHAT, messageId);
    return row !== undefined && ['done', 'dead', 'skipped'].includes(row.status);
  };
  const alive = (): boolean => {
    if (exited) throw new Error(`${exited}; its log is ${path.join(dir, 'worker.log')}`);
    return true;
  };

  const start = performance.now();
  let unanswered = 0;
  let failed = false;
  try {
    await telegram.waitFor(
      () => alive() && telegram.callsOf('getUpdates').some((c) => Number(c.params.timeout) > 0),
      60_000,
      'the worker to poll',
    );
    for (const message of plan) {
      current = message.number;
      const asked = telegram.pushMessage(CHAT, message.text).message!.message_id;
      const answered = (): boolean =>
        telegram.sentTo(CHAT).some((m) => m.text.includes(answerMark(message.number)));
      await waitUntil(
        // settled, not just answered: as a person reads the answer before writing again, the next
        // message never arrives while the run still finishes (it would steer that run)
        () => alive() && settled(asked),
        ANSWER_TIMEOUT_MS,
        () => `${name}: message ${message.number} got no answer in ${ANSWER_TIMEOUT_MS / 1000} s`,
        25,
      );
      if (!answered()) unanswered++;
      if (message.number % 10 === 0) process.stdout.write(`  ${name}: ${message.number} messages\n`);
    }
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    child.kill('SIGKILL');
    db?.close();
    fs.closeSync(log);
    await telegram.close();
    await openai.close();
    if (failed) console.error(`kept ${dir} (the worker's log and database)`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
  const requests = openai.requests.flatMap((r): RequestFigure[] => {
    const tag = tags.get(r.body);
    if (!tag || r.status !== 200 || !r.response) return [];
    const { promptTokens, cachedTokens } = r.response.usage;
    return [{ ...tag, promptTokens, cachedTokens }];
  });
  return { name, requests, unanswered, seconds: (performance.now() - start) / 1000 };
}

/** The figures the table shows. */
interface Summary {
  readonly requests: number;
  readonly medianPrompt: number;
  readonly maxPrompt: number;
  readonly totalPrompt: number;
  readonly totalUncached: number;
  readonly cachedShare: number;
  readonly overWindow: number;
  readonly compactions: number;
  readonly earlyMax: number;
  readonly lateMax: number;
  readonly unanswered: number;
  readonly seconds: number;
}

// the first and the last third of the messages (1–20 and 41–60 of 60)
const THIRD = Math.floor(MESSAGES / 3);
const EARLY = `1–${THIRD}`;
const LATE = `${MESSAGES - THIRD + 1}–${MESSAGES}`;

function summarize(f: SessionFigures): Summary {
  const prompts = f.requests.map((r) => r.promptTokens);
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
  const largest = (from: number, to: number): number =>
    max(f.requests.filter((r) => r.message >= from && r.message <= to).map((r) => r.promptTokens));
  return {
    requests: f.requests.length,
    medianPrompt: median(prompts),
    maxPrompt: max(prompts),
    totalPrompt: sum(prompts),
    totalUncached: sum(f.requests.map((r) => r.promptTokens - r.cachedTokens)),
    cachedShare: sum(f.requests.map((r) => r.cachedTokens)) / sum(prompts),
    overWindow: prompts.filter((p) => p > WINDOW).length,
    compactions: f.requests.filter((r) => r.compaction).length,
    earlyMax: largest(1, THIRD),
    lateMax: largest(MESSAGES - THIRD + 1, MESSAGES),
    unanswered: f.unanswered,
    seconds: f.seconds,
  };
}

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const times = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–');

function table(names: readonly string[], summaries: readonly Summary[]): string {
  const row = (label: string, cell: (s: Summary) => string): string[] => [label, ...summaries.map(cell)];
  return markdown(
    ['measure', ...names],
    [
      row('model requests (compactions included)', (s) => int(s.requests)),
      row('prompt tokens per request, median', (s) => int(s.medianPrompt)),
      row('prompt tokens per request, max', (s) => int(s.maxPrompt)),
      row('prompt tokens, all requests', (s) => int(s.totalPrompt)),
      row('prompt tokens not cached, all requests', (s) => int(s.totalUncached)),
      row('cached share of prompt tokens', (s) => s.cachedShare.toFixed(2)),
      row(`largest request ÷ window (${int(WINDOW)})`, (s) => times(s.maxPrompt / WINDOW)),
      row('requests over the window', (s) => int(s.overWindow)),
      row('compactions', (s) => int(s.compactions)),
      row(
        `largest request, messages ${LATE} ÷ ${EARLY}`,
        (s) => `${times(s.lateMax / s.earlyMax)} (${int(s.lateMax)} / ${int(s.earlyMax)})`,
      ),
      row("messages answered without the model's answer", (s) => int(s.unanswered)),
      row('time (s)', (s) => s.seconds.toFixed(0)),
    ],
  );
}

function targets(s: Summary): string {
  const rows: [string, string, string, boolean][] = [
    ['cached share of prompt tokens', s.cachedShare.toFixed(2), '≥ 0.85', s.cachedShare >= 0.85],
    ['requests over the window', int(s.overWindow), '0', s.overWindow === 0],
    [
      `largest request, messages ${LATE} ÷ ${EARLY}`,
      times(s.lateMax / s.earlyMax),
      '≤ 1.2×',
      s.lateMax / s.earlyMax <= 1.2,
    ],
  ];
  return markdown(
    ['target (build under test)', 'measured', 'target', ''],
    rows.map(([what, value, limit, met]) => [what, value, limit, met ? 'met' : 'NOT MET']),
  );
}

async function main(): Promise<void> {
  const root = process.env.BENCH_ROOT ?? REPO;
  const baseGiven = process.env.BENCH_BASE ?? '';
  const base =
    baseGiven === 'none' ? undefined : baseGiven === '' ? ensureBaseBuild(REPO, BASE_COMMIT) : baseGiven;
  const files = generateProject(SEED);
  const plan = planConversation(SEED, files, MESSAGES);
  const sizes = [...files].filter(([f]) => f.startsWith('src/')).map(([, c]) => Buffer.byteLength(c));
  const calls = plan.flatMap((m) => m.steps.flat());
  console.log(
    `${MESSAGES} messages in one chat; ${calls.length} tool calls (${calls.filter((c) => c.name === 'read').length} reads, ` +
      `${calls.filter((c) => c.name === 'write').length} writes) over ${sizes.length} source files of ` +
      `${(Math.min(...sizes) / 1024).toFixed(1)}–${(Math.max(...sizes) / 1024).toFixed(1)} KB; window ${int(WINDOW)} tokens`,
  );
  const builds: [string, string][] = [[root === REPO ? 'this checkout' : path.basename(root), root]];
  if (base) builds.push([baseGiven === '' ? BASE_COMMIT : path.basename(base), base]);
  const figures: SessionFigures[] = [];
  for (const [name, at] of builds) {
    console.log(`${name}: ${workerMain(at)}`);
    figures.push(await playSession(name, at, files, plan));
  }
  const summaries = figures.map(summarize);
  const names = builds.map(([name]) => name);
  console.log(`\n${table(names, summaries)}\n\n${targets(summaries[0]!)}`);
  const out = process.env.BENCH_OUT;
  if (out) {
    const json = { window: WINDOW, messages: MESSAGES, seed: SEED, figures };
    fs.writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`\nevery request's figures: ${out}`);
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
