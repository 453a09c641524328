import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMigrated, openDatabase } from '../../src/db/open';

const REPO = path.resolve(__dirname, '..', '..');

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-db-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('opening the database', () => {
  it('creates the state folder and the file readable by their owner only', () => {
    const file = path.join(dir, 'state', 'agent.db');
    const handle = openDatabase(file);
    handle.close();
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('sets WAL, a busy timeout, NORMAL sync and foreign keys', () => {
    const handle = openDatabase(path.join(dir, 'agent.db'));
    expect(handle.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(handle.sqlite.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(handle.sqlite.pragma('synchronous', { simple: true })).toBe(1);
    expect(handle.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(isMigrated(handle.sqlite)).toBe(true);
    handle.close();
  });

  it('lets several processes open and migrate a new file at the same instant', async () => {
    const file = path.join(dir, 'agent.db');
    const script = `const { openDatabase } = require(${JSON.stringify(path.join(REPO, 'dist', 'db', 'open.js'))});
      const h = openDatabase(${JSON.stringify(file)}); h.sqlite.prepare("INSERT INTO kv (key, value, updated_at) VALUES (?, 'x', 0)").run(String(process.pid)); h.close();`;
    const codes = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<{ code: number | null; stderr: string }>((resolve) => {
            const child = spawn(process.execPath, ['-e', script]);
            let stderr = '';
            child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
            child.on('close', (code) => resolve({ code, stderr }));
          }),
      ),
    );
    expect(codes).toEqual(Array.from({ length: 6 }, () => ({ code: 0, stderr: '' })));
    const handle = openDatabase(file);
    expect(handle.sqlite.prepare('SELECT count(*) AS n FROM kv').get()).toEqual({ n: 6 });
    expect(handle.sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get()).toEqual({
      n: fs.readdirSync(path.join(REPO, 'drizzle')).filter((f) => f.endsWith('.sql')).length,
    });
    handle.close();
  });
});
