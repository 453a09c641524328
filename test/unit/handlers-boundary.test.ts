/**
 * Handlers say what happens to their item by the outcome they return, and the scheduler settles
 * it: no handler needs the scheduler, so nothing in src/worker/handlers imports it, directly or
 * through another module. (Abort reasons live in src/agent/abort-reasons.ts for both.)
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const SRC = path.resolve(__dirname, '..', '..', 'src');
const HANDLERS = path.join(SRC, 'worker', 'handlers');
const SCHEDULER = path.join(SRC, 'worker', 'scheduler.ts');

function resolveImport(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null; // a package
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')])
    if (fs.existsSync(candidate)) return candidate;
  throw new Error(`${path.relative(SRC, from)} imports ${specifier}, which does not resolve`);
}

/** Every source file reachable from `entries`, with the chain that reached it. */
function importGraph(entries: readonly string[]): Map<string, string[]> {
  const reached = new Map<string, string[]>();
  const queue: [string, string[]][] = entries.map((e) => [e, [e]]);
  while (queue.length > 0) {
    const [file, chain] = queue.shift() as [string, string[]];
    if (reached.has(file)) continue;
    reached.set(file, chain);
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const ref of info.importedFiles) {
      const target = resolveImport(file, ref.fileName);
      if (target && !reached.has(target)) queue.push([target, [...chain, target]]);
    }
  }
  return reached;
}

const handlerFiles = fs
  .readdirSync(HANDLERS, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(HANDLERS, f));

describe('handler import boundary', () => {
  it('finds the handlers', () => {
    expect(handlerFiles).toEqual(
      expect.arrayContaining(['agent-run.ts', 'command.ts'].map((f) => path.join(HANDLERS, f))),
    );
  });

  it.each(handlerFiles.map((f) => [path.relative(SRC, f), f]))(
    '%s reaches nothing of the scheduler',
    (_name, file) => {
      const chain = importGraph([file]).get(SCHEDULER);
      expect(chain?.map((f) => path.relative(SRC, f)).join(' → ')).toBeUndefined();
    },
  );

  it('does catch a file that reaches the scheduler (the check itself works)', () => {
    expect(importGraph([path.join(SRC, 'worker', 'app.ts')]).has(SCHEDULER)).toBe(true);
  });
});
