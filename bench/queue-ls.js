// Benchmark: how fast the built CLI answers on a large inbox. Not a test: it measures and prints.
// Fills a temp database with 100,000 items (default; BENCH_ITEMS overrides) through the queue's
// own enqueue, spreads them over the statuses, then times `bin/autonous ...` as a child process.
//   node bench/queue-ls.js          (after `npm run build`)
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { openDatabase } = require(path.join(root, 'dist', 'db', 'open.js'));
const { storeBatch } = require(path.join(root, 'dist', 'queue', 'enqueue.js'));

const ITEMS = Number(process.env.BENCH_ITEMS || 100000);
const RUNS = Number(process.env.BENCH_RUNS || 7);
const LIMIT_MS = 500;
const bin = path.join(root, 'bin', 'autonous');

function fill(file) {
  const handle = openDatabase(file);
  const now = Date.now();
  const batch = 5000;
  for (let start = 0; start < ITEMS; start += batch) {
    const items = [];
    for (let i = start; i < Math.min(ITEMS, start + batch); i++) {
      items.push({
        updateId: i + 1,
        chatId: 1000 + (i % 50),
        messageId: i + 1,
        kind: 'text',
        text: `message ${i} `.repeat(8),
        sentAt: now - (ITEMS - i) * 1000,
        status: 'queued',
      });
    }
    storeBatch(handle.sqlite, items, start + items.length + 1, now - (ITEMS - start) * 1000);
  }
  // Mostly history: 93 % done, 3 % failed, 2 % dead, 2 % skipped; the newest 100 still queued.
  handle.sqlite.exec(`
    UPDATE inbox SET status = 'done', attempts = 1, finished_at = received_at + 2000 WHERE id <= ${ITEMS - 100};
    UPDATE inbox SET status = 'failed', attempts = 2, error = 'OpenAI answered 500.', error_class = 'transient',
      error_code = '500' WHERE id % 33 = 0 AND id <= ${ITEMS - 100};
    UPDATE inbox SET status = 'dead', attempts = 5, error = 'Out of attempts.', error_class = 'transient',
      error_code = '500' WHERE id % 50 = 0 AND id <= ${ITEMS - 100};
    UPDATE inbox SET status = 'skipped', error = 'chat not allowed', error_class = 'skipped'
      WHERE id % 47 = 0 AND id <= ${ITEMS - 100};
  `);
  const count = handle.sqlite.prepare('SELECT count(*) AS n FROM inbox').get().n;
  handle.close();
  return count;
}

function time(args) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    execFileSync(process.execPath, [bin, ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    runs.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  runs.sort((a, b) => a - b);
  return { median: runs[Math.floor(runs.length / 2)], min: runs[0], max: runs[runs.length - 1] };
}

function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-bench-'));
  const file = path.join(dir, 'agent.db');
  try {
    const started = Date.now();
    const count = fill(file);
    console.log(`filled ${count} items in ${Date.now() - started} ms (${file})`);
    const cases = [
      ['--version'],
      ['queue', 'ls'],
      ['queue', 'ls', '--json'],
      ['queue', 'ls', '--status', 'dead'],
      ['queue', 'ls', '--chat', '1007'],
      ['queue', 'dead'],
      ['queue', 'stats', '--since', '7d'],
    ];
    let ok = true;
    for (const args of cases) {
      const full = args[0] === '--version' ? args : ['--db', file, ...args];
      const t = time(full);
      const limited = args[0] === 'queue' && args[1] === 'ls';
      if (limited && t.median >= LIMIT_MS) ok = false;
      console.log(
        `autonous ${args.join(' ').padEnd(26)} median ${t.median.toFixed(0).padStart(4)} ms  (min ${t.min.toFixed(0)}, max ${t.max.toFixed(0)}, ${RUNS} runs)${limited ? (t.median < LIMIT_MS ? '  < 500 ms ok' : '  >= 500 ms TOO SLOW') : ''}`,
      );
    }
    process.exitCode = ok ? 0 : 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
