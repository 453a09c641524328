import { prepared } from '../../src/db/statements';
import { getKv, setKv } from '../../src/queue/kv';
import { openTempDb, removeTempDir, type TempDb } from '../helpers/temp-db';

let a: TempDb;
let b: TempDb;
beforeEach(() => {
  a = openTempDb();
  b = openTempDb();
});
afterEach(() => {
  a.close();
  b.close();
  removeTempDir(a.dir);
  removeTempDir(b.dir);
});

describe('per-connection statements', () => {
  it('prepares a statement once per connection and reuses it', () => {
    const sql = 'SELECT value FROM kv WHERE key = ?';
    const first = prepared(a.sqlite, sql);
    expect(prepared(a.sqlite, sql)).toBe(first);
    expect(prepared(b.sqlite, sql)).not.toBe(first);
    expect(prepared(a.sqlite, 'SELECT 1')).not.toBe(first);
  });

  it('keeps each connection on its own database', () => {
    setKv(a.sqlite, 'k', 'on a', 1);
    setKv(b.sqlite, 'k', 'on b', 1);
    expect(getKv(a.sqlite, 'k')).toBe('on a');
    expect(getKv(b.sqlite, 'k')).toBe('on b');
  });
});
