/**
 * The supervisor never reads message content, so it cannot leak it: nothing that src/supervisor-hooks
 * (or the CLI's revision and supervisor commands) imports, directly or not, may reach the queue,
 * the worker, or the worker's configuration with its secrets; and none of its code names the
 * inbox, history or kv tables.
 */
import fs from 'node:fs';
import path from 'node:path';
import { importGraph, SRC } from '../helpers/import-graph';

const FORBIDDEN: readonly { test: (file: string) => boolean; why: string }[] = [
  {
    test: (f) => f.startsWith(path.join(SRC, 'queue') + path.sep),
    why: 'the queue reads and writes inbox/kv',
  },
  { test: (f) => f.startsWith(path.join(SRC, 'worker') + path.sep), why: 'the worker handles messages' },
  { test: (f) => f === path.join(SRC, 'shared', 'config.ts'), why: "it holds the worker's secrets" },
];

const supervisorFiles = fs
  .readdirSync(path.join(SRC, 'supervisor-hooks'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(SRC, 'supervisor-hooks', f));
const cliFiles = ['revisions.ts', 'supervisor.ts']
  .map((f) => path.join(SRC, 'cli', 'commands', f))
  .filter((f) => fs.existsSync(f));

describe('supervisor import boundary', () => {
  it('finds the supervisor entry and follows its imports', () => {
    const graph = importGraph(supervisorFiles);
    expect(graph.has(path.join(SRC, 'supervisor-hooks', 'main.ts'))).toBe(true);
    expect(graph.has(path.join(SRC, 'db', 'open.ts'))).toBe(true);
  });

  it.each([
    ['src/supervisor-hooks', supervisorFiles],
    ['the revision and supervisor commands of the CLI', cliFiles],
  ])('%s reaches nothing that reads inbox, history or kv', (_what, entries) => {
    const violations: string[] = [];
    for (const [file, chain] of importGraph(entries)) {
      const rule = FORBIDDEN.find((r) => r.test(file));
      if (rule) violations.push(`${chain.map((f) => path.relative(SRC, f)).join(' → ')} (${rule.why})`);
    }
    expect(violations).toEqual([]);
  });

  it('src/supervisor-hooks reaches nothing of the CLI', () => {
    const cli = [...importGraph(supervisorFiles).keys()].filter((f) =>
      f.startsWith(path.join(SRC, 'cli') + path.sep),
    );
    expect(cli).toEqual([]);
  });

  it('names neither the inbox, history nor kv table', () => {
    const offending: string[] = [];
    for (const file of supervisorFiles) {
      const code = fs.readFileSync(file, 'utf8');
      // the schema's table objects, and SQL that would touch the tables
      if (/import\s*{[^}]*\b(inbox|history|kv)\b[^}]*}\s*from\s*'[^']*db\/schema'/.test(code))
        offending.push(file);
      if (/\b(from|into|update|join)\s+["`]?(inbox|history|kv)\b/i.test(code)) offending.push(file);
    }
    expect(offending).toEqual([]);
  });

  it("reads none of the chat's columns of self_releases (who asked, where, what the card said)", () => {
    const chatColumns =
      /\b(chat_id|thread_id|from_id|inbox_id|summary|card_message_id|released_told_at|outcome_told_at)\b/;
    const offending = supervisorFiles.filter((file) => {
      const code = fs.readFileSync(file, 'utf8');
      return chatColumns.test(code) || /select\s+\*/i.test(code) || /\bselfReleases\b/.test(code);
    });
    expect(offending).toEqual([]);
  });

  it('does catch a file that reaches the worker and its configuration (the check itself works)', () => {
    const graph = importGraph([path.join(SRC, 'worker', 'main.ts')]);
    const bad = [...graph.keys()].filter((f) => FORBIDDEN.some((r) => r.test(f)));
    expect(bad).toContain(path.join(SRC, 'shared', 'config.ts'));
  });
});
