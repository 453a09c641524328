import { CLAIM_STATEMENTS } from '../../src/queue/claim';
import { openTempDb, removeTempDir, type TempDb } from '../helpers/temp-db';

// The claim runs for every message: its plan must read open items only, through the partial
// indexes, so its cost follows the backlog and not the done, dead and skipped rows of the past.

let db: TempDb;
beforeEach(() => {
  db = openTempDb();
});
afterEach(() => {
  db.close();
  removeTempDir(db.dir);
});

function plan(sql: string, ...params: unknown[]): string[] {
  return (db.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map(
    (r) => r.detail,
  );
}

describe('the claim plan', () => {
  it('reads the ready items in claim order from their index, without sorting', () => {
    const steps = plan(CLAIM_STATEMENTS.claim, { now: 0, lane: 'answer' });
    expect(steps).toContain('SEARCH i USING INDEX inbox_ready_idx (lane=?)');
    expect(steps.join('\n')).not.toMatch(/TEMP B-TREE/);
  });

  it('checks a chat through its open and in-flight items only', () => {
    for (const steps of [
      plan(CLAIM_STATEMENTS.claim, { now: 0, lane: 'answer' }),
      plan(CLAIM_STATEMENTS.nextAvailable),
    ]) {
      expect(steps).toContain(
        'SEARCH e USING INDEX inbox_open_chat_idx (chat_id=? AND lane=? AND update_id<?)',
      );
      expect(steps).toContain(
        'SEARCH p USING COVERING INDEX inbox_processing_chat_idx (chat_id=? AND lane=?)',
      );
    }
  });

  it('never scans the whole inbox', () => {
    const all = [
      ...plan(CLAIM_STATEMENTS.claim, { now: 0, lane: 'answer' }),
      ...plan(CLAIM_STATEMENTS.nextAvailable),
    ];
    // a SCAN is a full pass; the only one allowed is the ordered pass over the partial index
    expect(all.filter((step) => step.startsWith('SCAN') && !step.includes('inbox_ready_idx'))).toEqual([]);
  });
});
