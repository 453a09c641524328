/**
 * The workspace and the agent's tools know neither Telegram nor SQLite (they are reached through ports,
 * so they can be tested without either): nothing under src/workspace or src/agent/tools imports the Bot API client, the
 * database, the queue, the worker or the worker's configuration with its secrets.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const SRC = path.resolve(__dirname, '..', '..', 'src');
const FORBIDDEN_PACKAGES = ['node-telegram-bot-api', 'better-sqlite3', 'drizzle-orm', 'openai'];
const FORBIDDEN_FOLDERS = ['worker', 'queue', 'db', 'cli', 'supervisor-hooks'].map(
  (f) => path.join(SRC, f) + path.sep,
);

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? files(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

describe('the workspace boundary', () => {
  const sources = [...files(path.join(SRC, 'workspace')), ...files(path.join(SRC, 'agent', 'tools'))];

  it('has sources to check', () => {
    expect(sources.length).toBeGreaterThan(10);
  });

  it.each(sources.map((f) => [path.relative(SRC, f), f]))(
    '%s imports no Telegram, SQLite, queue or worker code',
    (_rel, file) => {
      const imports = ts
        .preProcessFile(fs.readFileSync(file, 'utf8'), true, true)
        .importedFiles.map((i) => i.fileName);
      for (const specifier of imports) {
        expect(FORBIDDEN_PACKAGES.some((p) => specifier === p || specifier.startsWith(`${p}/`))).toBe(false);
        if (!specifier.startsWith('.')) continue;
        const target = path.resolve(path.dirname(file), specifier);
        expect({ specifier, forbidden: FORBIDDEN_FOLDERS.some((f) => target.startsWith(f)) }).toEqual({
          specifier,
          forbidden: false,
        });
        expect(target).not.toBe(path.join(SRC, 'shared', 'config'));
      }
    },
  );
});
