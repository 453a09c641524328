import { parseDuration } from '../../src/cli/duration';
import { colourWanted } from '../../src/cli/output';
import { paint } from '../../src/cli/render/colour';
import { renderTable } from '../../src/cli/render/table';
import { cut } from '../../src/cli/render/text';
import { formatAge, formatDue, formatDuration } from '../../src/cli/render/time';

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);

describe('parseDuration', () => {
  it('reads the units operators type', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5h')).toBe(5_400_000);
  });

  it('adds combined parts', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration(' 1D2H ')).toBe(86_400_000 + 7_200_000);
  });

  it('refuses anything that is not a duration', () => {
    for (const bad of ['', '7', 'd', '7x', '1h30', '-1h', '1 h', 'h1', '7d!'])
      expect(parseDuration(bad)).toBeNull();
  });
});

describe('human times', () => {
  const now = 1_700_000_000_000;

  it('says how long ago in one unit', () => {
    expect(formatAge(now - 3 * 60_000 - 5000, now)).toBe('3m ago');
    expect(formatAge(now - 2 * 3_600_000, now)).toBe('2h ago');
    expect(formatAge(now - 5 * 86_400_000, now)).toBe('5d ago');
    expect(formatAge(now - 200, now)).toBe('just now');
    expect(formatAge(now + 20_000, now)).toBe('in 20s');
    expect(formatAge(null, now)).toBe('-');
  });

  it('says when an item is due', () => {
    expect(formatDue(now - 1, now)).toBe('now');
    expect(formatDue(now + 90_000, now)).toBe('in 1m');
  });

  it('gives durations in their largest unit and the next one while small', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(12_400)).toBe('12s');
    expect(formatDuration(65_000)).toBe('1m 5s');
    expect(formatDuration(3_600_000 * 26)).toBe('1d 2h');
    expect(formatDuration(3_600_000 * 30)).toBe('1d 6h');
    expect(formatDuration(86_400_000 * 12)).toBe('12d');
  });
});

describe('cut', () => {
  it('keeps short text and folds it onto one line', () => {
    expect(cut('hello\n  world', 60)).toBe('hello world');
    expect(cut(null, 10)).toBe('');
  });

  it('cuts long text with an ellipsis within the width', () => {
    const out = cut('x'.repeat(100), 10);
    expect(out).toBe(`${'x'.repeat(9)}…`);
    expect(out.length).toBe(10);
  });

  it('never splits a surrogate pair', () => {
    const out = cut(`${'a'.repeat(8)}😀😀😀`, 10);
    expect(out).toBe(`${'a'.repeat(8)}…`);
  });
});

describe('colour', () => {
  it('is on only for a terminal without NO_COLOR', () => {
    expect(colourWanted(true, {})).toBe(true);
    expect(colourWanted(false, {})).toBe(false);
    expect(colourWanted(undefined, {})).toBe(false);
    expect(colourWanted(true, { NO_COLOR: '1' })).toBe(false);
    expect(colourWanted(true, { NO_COLOR: '' })).toBe(true);
    expect(colourWanted(true, { TERM: 'dumb' })).toBe(false);
  });

  it('adds no escape codes when off', () => {
    const p = paint(false);
    expect(p.red('x') + p.bold('y') + p.dim('z')).toBe('xyz');
    expect(paint(true).red('x')).toMatch(ANSI);
  });
});

describe('renderTable', () => {
  it('aligns columns without borders or trailing spaces, null as -', () => {
    const out = renderTable(
      ['ID', 'NAME'],
      [
        [1, 'a'],
        [22, null],
      ],
      paint(false),
    );
    expect(out.split('\n')).toEqual(['ID  NAME', '1   a', '22  -']);
  });
});
