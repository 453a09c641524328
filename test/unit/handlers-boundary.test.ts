/**
 * Handlers say what happens to their item by the outcome they return, and the scheduler settles
 * it: no handler needs the scheduler, so nothing in src/worker/handlers imports it, directly or
 * through another module. (Abort reasons live in src/agent/abort-reasons.ts for both.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { importGraph, SRC } from '../helpers/import-graph';

const HANDLERS = path.join(SRC, 'worker', 'handlers');
const SCHEDULER = path.join(SRC, 'worker', 'scheduler.ts');

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
