import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { selfReleaseBreaker } from '../../src/self-release/breaker';
import { cardText, decodeReleasePress, releaseKeyboard, stepLine } from '../../src/self-release/flow';
import { copyBuild, describeChecks, testCounts } from '../../src/self-release/prepare';
import { destructiveStatement, migrationChange, protectedChange } from '../../src/self-release/rules';
import type { SelfReleaseRow } from '../../src/queue/self-releases';

describe('what a self-release may not change', () => {
  it('refuses package.json, the lock file, the supervisor and the release machinery, and names the file', () => {
    expect(protectedChange(['src/worker/commands.ts', 'README.md'])).toBeNull();
    expect(protectedChange(['package.json'])).toMatch(/^it changes package\.json, and revisions share/);
    expect(protectedChange(['package-lock.json'])).toMatch(/package-lock\.json/);
    expect(protectedChange(['src/supervisor-hooks/policy.ts'])).toMatch(
      /supervisor-hooks\/policy\.ts.*judge/,
    );
    expect(protectedChange(['src/self-release/rules.ts'])).toMatch(/self-release\/rules\.ts/);
    // a folder's name as a prefix of another is not the folder
    expect(protectedChange(['src/supervisor-hooks-notes.md'])).toBeNull();
  });

  it('takes a migration that only adds, and refuses one that drops, renames or deletes', () => {
    expect(
      destructiveStatement('ALTER TABLE `inbox` ADD `x` integer;\nCREATE INDEX `i` ON `inbox` (`x`);'),
    ).toBeNull();
    expect(destructiveStatement('ALTER TABLE `inbox` DROP COLUMN `media`;')).toBe('drops a column');
    expect(destructiveStatement('drop table kv;')).toBe('drops a table');
    expect(destructiveStatement('ALTER TABLE `a` RENAME TO `b`;')).toBe('renames a table or column');
    expect(destructiveStatement('ALTER TABLE `a` RENAME COLUMN `x` TO `y`;')).toBe(
      'renames a table or column',
    );
    expect(destructiveStatement('DELETE FROM `kv`;')).toBe('deletes rows');
    // words in comments and strings do not count; a foreign key's ON DELETE is no deletion
    expect(destructiveStatement("-- DROP TABLE kv\nINSERT INTO kv VALUES ('DROP TABLE x');")).toBeNull();
    expect(destructiveStatement('FOREIGN KEY (`a`) REFERENCES `b`(`id`) ON DELETE cascade')).toBeNull();
  });

  it('refuses an edited or removed migration, and judges only the new ones', () => {
    const before = new Map([['0001_a.sql', 'CREATE TABLE a (x int);']]);
    expect(
      migrationChange(before, new Map([...before, ['0002_b.sql', 'CREATE TABLE b (y int);']])),
    ).toBeNull();
    expect(migrationChange(before, new Map())).toMatch(/removes the migration drizzle\/0001_a\.sql/);
    expect(migrationChange(before, new Map([['0001_a.sql', 'CREATE TABLE a (z int);']]))).toMatch(/edits/);
    expect(migrationChange(before, new Map([...before, ['0002_b.sql', 'DROP TABLE a;']]))).toMatch(
      /new migration drizzle\/0002_b\.sql drops a table/,
    );
  });
});

describe('the circuit breaker', () => {
  it('trips on two rollbacks in a row, not on one or on a rollback after a promotion', () => {
    expect(selfReleaseBreaker([], 0).off).toBe(false);
    expect(selfReleaseBreaker([{ id: 3, status: 'rolled_back' }], 0).off).toBe(false);
    expect(
      selfReleaseBreaker(
        [
          { id: 3, status: 'rolled_back' },
          { id: 2, status: 'promoted' },
          { id: 1, status: 'rolled_back' },
        ],
        0,
      ).off,
    ).toBe(false);
    const off = selfReleaseBreaker(
      [
        { id: 3, status: 'rolled_back' },
        { id: 2, status: 'rolled_back' },
      ],
      0,
    );
    expect(off).toEqual({
      off: true,
      reason: expect.stringMatching(/\(#2, #3\) were rolled back in a row.*\/release on/),
    });
  });

  it('counts only what came after `/release on`', () => {
    const outcomes = [
      { id: 4, status: 'rolled_back' as const },
      { id: 3, status: 'rolled_back' as const },
    ];
    expect(selfReleaseBreaker(outcomes, 3).off).toBe(false);
    expect(selfReleaseBreaker([{ id: 5, status: 'rolled_back' }, ...outcomes], 3).off).toBe(true);
  });
});

describe('the checks and the card', () => {
  it("reads jest's counts", () => {
    expect(testCounts('Test Suites: 1 passed\nTests:       2 skipped, 40 passed, 42 total\n')).toEqual({
      passed: 40,
      failed: 0,
      total: 42,
    });
    expect(testCounts('Tests: 1 failed, 3 passed, 4 total')).toEqual({ passed: 3, failed: 1, total: 4 });
    expect(testCounts('no tests here')).toBeNull();
  });

  it('says how the checks went', () => {
    const base = {
      command: 'x',
      exitCode: 0,
      timedOut: false,
      seconds: 12.5,
      tests: { passed: 4, failed: 0, total: 4 },
    };
    expect(describeChecks({ ...base, passed: true })).toBe('passed in 12.5 s: 4 of 4 tests passed');
    expect(describeChecks({ ...base, passed: false, exitCode: 1, tests: null })).toBe(
      'failed (exit 1) after 12.5 s',
    );
    expect(describeChecks({ ...base, passed: false, exitCode: null, timedOut: true, tests: null })).toBe(
      'ran out of time after 12.5 s',
    );
  });

  it('names a release in its buttons, and reads back only its own presses', () => {
    const data = releaseKeyboard(7)
      .flat()
      .map((b) => ('callbackData' in b ? b.callbackData : ''));
    expect(data).toEqual(['rl:7:go', 'rl:7:no']);
    expect(data.every((d) => Buffer.byteLength(d) <= 64)).toBe(true);
    expect(decodeReleasePress('rl:7:go')).toEqual({ id: 7, go: true });
    expect(decodeReleasePress('rl:7:no')).toEqual({ id: 7, go: false });
    expect(decodeReleasePress('ap:7:o')).toBeNull();
    expect(decodeReleasePress('rl:0:go')).toBeNull();
    expect(decodeReleasePress(null)).toBeNull();
  });

  it('tells each step in a sentence: released, promoted, rolled back with the reason and the breaker', () => {
    const row = {
      id: 3,
      revision: 'r7-1234567',
      baseRevision: 'r6-abcdef0',
      status: 'rolled_back',
      reason: 'crashed 3 times',
      rolledBackTo: 'r6-abcdef0',
      commit: 'f'.repeat(40),
      summary: '1 commit',
      checks: null,
    } as unknown as SelfReleaseRow;
    expect(stepLine(row, 'released', null)).toMatch(/^Release #3 is out as r7-1234567 \(was r6-abcdef0\)/);
    expect(stepLine(row, 'outcome', null)).toBe(
      'r7-1234567 was rolled back: crashed 3 times; r6-abcdef0 is running again.',
    );
    expect(stepLine(row, 'outcome', 'self-release is off: x')).toMatch(
      /running again\. Self-release is off: x\.$/,
    );
    expect(stepLine({ ...row, status: 'promoted' }, 'outcome', null)).toMatch(/^r7-1234567 is promoted/);
    expect(cardText(row)).toMatch(
      /^Release #3 of project self, commit fffffff\n1 commit\n\nChecks unknown\./,
    );
  });
});

describe('copying the build out of project self', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-copy-'));
    fs.mkdirSync(path.join(dir, 'p', 'dist', 'worker'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'p', 'drizzle', 'meta'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'p', 'dist', 'worker', 'main.js'), 'ok');
    fs.writeFileSync(path.join(dir, 'p', 'drizzle', 'meta', '_journal.json'), '{}');
    fs.writeFileSync(path.join(dir, 'secret.env'), 'TELEGRAM_BOT_TOKEN=123:abc');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('copies folders and regular files', () => {
    copyBuild(path.join(dir, 'p'), path.join(dir, 'out'));
    expect(fs.readFileSync(path.join(dir, 'out', 'dist', 'worker', 'main.js'), 'utf8')).toBe('ok');
    expect(fs.existsSync(path.join(dir, 'out', 'drizzle', 'meta', '_journal.json'))).toBe(true);
  });

  it('refuses a link a command planted in dist/, and copies nothing it points at', () => {
    fs.symlinkSync(path.join(dir, 'secret.env'), path.join(dir, 'p', 'dist', 'worker', 'config.js'));
    expect(() => copyBuild(path.join(dir, 'p'), path.join(dir, 'out'))).toThrow(
      /dist\/worker\/config\.js .*a link/,
    );
    const copied = fs.existsSync(path.join(dir, 'out', 'dist', 'worker', 'config.js'));
    expect(copied).toBe(false);
  });

  it('refuses dist/ itself as a link', () => {
    fs.rmSync(path.join(dir, 'p', 'dist'), { recursive: true });
    fs.symlinkSync(dir, path.join(dir, 'p', 'dist'));
    expect(() => copyBuild(path.join(dir, 'p'), path.join(dir, 'out'))).toThrow(
      /dist in project self is not a folder/,
    );
  });
});
