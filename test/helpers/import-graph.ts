/** The import graph of our sources, for the tests that enforce a boundary between parts. */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** The project's src folder. */
export const SRC = path.resolve(__dirname, '..', '..', 'src');

function resolveImport(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null; // a package
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')])
    if (fs.existsSync(candidate)) return candidate;
  throw new Error(`${path.relative(SRC, from)} imports ${specifier}, which does not resolve`);
}

/** Every source file reachable from `entries`, with the chain that reached it. */
export function importGraph(entries: readonly string[]): Map<string, string[]> {
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
