/**
 * The agent loop knows neither Telegram, SQLite nor OpenAI (it gets them as ports,
 * so it is tested without a network): nothing in
 * src/agent (the tools aside, which touch the workspace) imports a package that speaks to them,
 * or code outside src/agent but the pure text helpers of src/shared that import nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const AGENT = path.resolve(__dirname, '..', '..', 'src', 'agent');
const FORBIDDEN_PACKAGES = /^(better-sqlite3|drizzle-orm|openai|node-telegram-bot-api)(\/|$)/;
// Leaf helpers shared with the worker and the CLI: pure, and they import nothing themselves
const SHARED_LEAVES = ['cut', 'parse-json', 'tokens'].map((name) =>
  path.resolve(AGENT, '..', 'shared', name),
);

const files = fs
  .readdirSync(AGENT, { encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(AGENT, f));

describe('agent import boundary', () => {
  it('lets the agent import only shared helpers that import nothing', () => {
    for (const leaf of SHARED_LEAVES) {
      expect(ts.preProcessFile(fs.readFileSync(`${leaf}.ts`, 'utf8'), true, true).importedFiles).toEqual([]);
    }
  });

  it('finds the loop', () => {
    expect(files).toContain(path.join(AGENT, 'loop.ts'));
  });

  it.each(files.map((f) => [path.basename(f), f]))(
    '%s imports no adapter and nothing outside src/agent',
    (_name, file) => {
      const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
      for (const ref of info.importedFiles) {
        const spec = ref.fileName;
        expect(spec).not.toMatch(FORBIDDEN_PACKAGES);
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(file), spec);
        expect(target.startsWith(AGENT + path.sep) || SHARED_LEAVES.includes(target)).toBe(true);
      }
    },
  );
});
