import fs from 'node:fs';
import path from 'node:path';

// The worker's composition root only wires: policies live in named modules with their own tests.
// A root that grows past this is taking decisions again.
const MAX_LINES = 100;

/** The lines of `startWorker`, from its signature to its closing brace. */
function startWorkerLines(): number {
  const source = fs.readFileSync(path.join(__dirname, '../../src/worker/app.ts'), 'utf8').split('\n');
  const start = source.findIndex((line) => line.startsWith('export async function startWorker'));
  expect(start).toBeGreaterThanOrEqual(0);
  const end = source.findIndex((line, i) => i > start && line === '}');
  expect(end).toBeGreaterThan(start);
  return end - start + 1;
}

describe('the composition root', () => {
  it(`keeps startWorker under ${MAX_LINES} lines`, () => {
    expect(startWorkerLines()).toBeLessThan(MAX_LINES);
  });
});
