// The sessions benchmark's coding conversation, generated from a seed so that every build gets the
// same one: a project of source files of 2–40 KB, and for each message the tool calls the scripted
// model makes (reads, ls, grep, a few writes), grouped into steps, then its answer. Pure: nothing
// here touches the disk but `writeProject`.
import fs from 'node:fs';
import path from 'node:path';

/** The last user message of a compaction request starts with this (the product's prompt). */
export const COMPACTION_PROMPT = 'Summarize the conversation so far';

/** One tool call of the scripted model. */
export interface PlannedCall {
  readonly name: 'read' | 'ls' | 'grep' | 'write';
  readonly arguments: Readonly<Record<string, string>>;
}

/** One message of the conversation and the run the model makes of it. */
export interface PlannedMessage {
  /** 1-based. */
  readonly number: number;
  readonly text: string;
  /** The model's tool calls, one batch per step (1–6 calls in all). */
  readonly steps: readonly (readonly PlannedCall[])[];
  /** The final answer; it starts with `answerMark(number)`. */
  readonly answer: string;
}

/** The files of the generated project, relative path → content. */
export type ProjectFiles = ReadonlyMap<string, string>;

/** Mulberry32: a small seeded generator, so the conversation is the same on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const AREAS = ['api', 'core', 'db', 'jobs', 'ui', 'util'] as const;
// prettier-ignore
const NOUNS = [
  'order', 'invoice', 'customer', 'ledger', 'session', 'token', 'report', 'batch', 'cursor', 'queue',
  'price', 'refund', 'account', 'schedule', 'export', 'import', 'widget', 'filter', 'cache', 'route',
] as const;
// prettier-ignore
const VERBS = [
  'load', 'save', 'parse', 'format', 'merge', 'split', 'check', 'apply', 'build', 'resolve', 'count', 'sort',
] as const;
// prettier-ignore
const WORDS = [
  'the', 'value', 'is', 'kept', 'until', 'a', 'newer', 'one', 'arrives', 'so', 'callers', 'never', 'see',
  'half', 'written', 'state', 'and', 'retries', 'stay', 'cheap', 'when', 'input', 'is', 'empty', 'we',
  'return', 'early', 'because', 'downstream', 'code', 'expects', 'at', 'least', 'one', 'row',
] as const;
const FILES = 36;
const MIN_FILE_BYTES = 2 * 1024;
const MAX_FILE_BYTES = 40 * 1024;

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

function sentence(random: () => number, words: number): string {
  const text = Array.from({ length: words }, () => pick(random, WORDS)).join(' ');
  return `${text[0]!.toUpperCase()}${text.slice(1)}.`;
}

const camel = (verb: string, noun: string, n: number): string =>
  `${verb}${noun[0]!.toUpperCase()}${noun.slice(1)}${n}`;

/** Source text of about `bytes` bytes: functions with comments, cut at a line end. */
function sourceFile(random: () => number, name: string, bytes: number): string {
  const lines = [
    `// ${name}: ${sentence(random, 12)}`,
    `import { strict as assert } from 'node:assert';`,
    '',
  ];
  let size = lines.join('\n').length;
  for (let fn = 1; size < bytes; fn++) {
    const noun = pick(random, NOUNS);
    const id = camel(pick(random, VERBS), noun, fn);
    const body = [
      `/** ${sentence(random, 10)} */`,
      `export function ${id}(${noun}: Record<string, number>, limit = ${Math.floor(random() * 900) + 100}): number {`,
      `  const total = Object.values(${noun}).reduce((sum, v) => sum + v, 0);`,
      `  // ${sentence(random, 9)}`,
      `  if (total > limit) return limit - ${Math.floor(random() * 50)};`,
      `  assert(total >= 0, '${id}: a negative total');`,
      `  return Math.round(total * ${(random() * 3).toFixed(3)});`,
      '}',
      '',
    ];
    for (const line of body) {
      if (size >= bytes) break;
      lines.push(line);
      size += line.length + 1;
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The project: AGENTS.md, a README and source files of 2–40 KB spread over a few folders. */
export function generateProject(seed: number): ProjectFiles {
  const random = seededRandom(seed);
  const files = new Map<string, string>();
  files.set(
    'AGENTS.md',
    [
      '# Working on this project',
      '',
      '- TypeScript, strict. Every exported function has a one-line doc comment.',
      '- Keep functions pure where you can; the folders are api, core, db, jobs, ui and util.',
      '- New helpers go beside the code that uses them; notes about a change go in notes/.',
      '',
    ].join('\n'),
  );
  files.set(
    'README.md',
    `# Ledger service\n\n${Array.from({ length: 30 }, () => sentence(random, 14)).join(' ')}\n`,
  );
  for (let i = 0; i < FILES; i++) {
    const area = AREAS[i % AREAS.length]!;
    const name = `src/${area}/${pick(random, NOUNS)}-${pick(random, VERBS)}-${i}.ts`;
    // log-uniform sizes: mostly small and medium files, a few large ones
    const bytes = Math.round(MIN_FILE_BYTES * Math.pow(MAX_FILE_BYTES / MIN_FILE_BYTES, random()));
    files.set(name, sourceFile(random, name, bytes));
  }
  return files;
}

/** Writes the project's files under `root`. */
export function writeProject(root: string, files: ProjectFiles): void {
  for (const [name, content] of files) {
    fs.mkdirSync(path.join(root, path.dirname(name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
}

/** How message `n`'s answer starts, so that the benchmark recognises it in the chat. */
export function answerMark(n: number): string {
  return `Answer ${n}:`;
}

/**
 * The conversation: `messages` messages, each a run of 1–6 tool calls in steps of 1–3. Reads
 * favour the files of a focus area that moves every few messages, as work on one part of a project
 * does, so files are read again; about one message in four ends by writing a note.
 */
export function planConversation(seed: number, files: ProjectFiles, messages: number): PlannedMessage[] {
  const random = seededRandom(seed ^ 0x5e55);
  const sources = [...files.keys()].filter((f) => f.startsWith('src/'));
  const plan: PlannedMessage[] = [];
  for (let n = 1; n <= messages; n++) {
    const area = AREAS[Math.floor((n - 1) / 8) % AREAS.length]!;
    const focus = sources.filter((f) => f.startsWith(`src/${area}/`));
    const count = 1 + Math.floor(random() * 6);
    const writes = random() < 0.25;
    const calls: PlannedCall[] = [];
    for (let i = 0; i < count; i++) {
      const roll = random();
      if (writes && i === count - 1) {
        const body = Array.from({ length: 8 + Math.floor(random() * 30) }, () => sentence(random, 14));
        calls.push({
          name: 'write',
          arguments: { path: `notes/message-${n}.md`, content: `# Message ${n}\n\n${body.join('\n')}\n` },
        });
      } else if (roll < 0.1) calls.push({ name: 'ls', arguments: { path: `src/${area}` } });
      else if (roll < 0.2)
        calls.push({ name: 'grep', arguments: { pattern: `${pick(random, VERBS)}[A-Z]\\w+1\\b` } });
      else calls.push({ name: 'read', arguments: { path: pick(random, random() < 0.75 ? focus : sources) } });
    }
    const steps: PlannedCall[][] = [];
    for (let i = 0; i < calls.length;) {
      const size = 1 + Math.floor(random() * 3);
      steps.push(calls.slice(i, i + size));
      i += size;
    }
    const target = calls.find((c) => c.name === 'read')?.arguments.path ?? `src/${area}`;
    plan.push({
      number: n,
      text: `Message ${n}: look at ${target} and tell me where it should ${pick(random, VERBS)} ${pick(random, NOUNS)} totals. ${sentence(random, 10)}`,
      steps,
      answer: `${answerMark(n)} ${Array.from({ length: 5 }, () => sentence(random, 12)).join(' ')}`,
    });
  }
  return plan;
}

/** A summary as a model writes one when asked to compact: about 300 words under fixed headings. */
export function summaryText(seed: number): string {
  const random = seededRandom(seed);
  const part = (heading: string, sentences: number): string =>
    `## ${heading}\n${Array.from({ length: sentences }, () => `- ${sentence(random, 11)}`).join('\n')}`;
  return [
    part('Goal', 2),
    part('Decisions', 6),
    part('Files read and changed', 8),
    part('Commands and outcomes', 5),
    part('Open questions', 3),
    part('Next step', 2),
  ].join('\n\n');
}
