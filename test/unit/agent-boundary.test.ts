/**
 * The agent loop knows neither Telegram, SQLite nor OpenAI (STYLE: it gets ports): nothing in
 * src/agent (the tools aside, which touch the workspace) imports a package that speaks to them,
 * or code outside src/agent.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const AGENT = path.resolve(__dirname, '..', '..', 'src', 'agent');
const FORBIDDEN_PACKAGES = /^(better-sqlite3|drizzle-orm|openai|node-telegram-bot-api)(\/|$)/;

const files = fs
  .readdirSync(AGENT, { encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(AGENT, f));

describe('agent import boundary', () => {
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
        if (spec.startsWith('.'))
          expect(path.resolve(path.dirname(file), spec).startsWith(AGENT + path.sep)).toBe(true);
      }
    },
  );
});
