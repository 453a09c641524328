import { escapeHidden, escapeHiddenJson, hasHidden, holdsHidden } from '../../src/shared/escape-text';

describe('escapeHidden', () => {
  it('escapes bidi overrides and isolates (Trojan Source)', () => {
    for (let code = 0x202a; code <= 0x202e; code++) {
      const hex = code.toString(16).toUpperCase();
      expect(escapeHidden(`a${String.fromCharCode(code)}b`)).toBe(`a\\u${hex}b`);
    }
    for (let code = 0x2066; code <= 0x2069; code++) {
      const hex = code.toString(16).toUpperCase();
      expect(escapeHidden(`a${String.fromCharCode(code)}b`)).toBe(`a\\u${hex}b`);
    }
    expect(escapeHidden('rm -rf /tmp/x \u202E# ,safe')).toBe('rm -rf /tmp/x \\u202E# ,safe');
  });

  it('escapes zero-width and other format characters, astral ones as \\u{…}', () => {
    expect(escapeHidden('a\u200Bb\u200Cc\u200Dd\u200Ee\u200Ff\uFEFFg\u2060h\u00ADi')).toBe(
      'a\\u200Bb\\u200Cc\\u200Dd\\u200Ee\\u200Ff\\uFEFFg\\u2060h\\xADi',
    );
    expect(escapeHidden('tag\u{E0041}\u{E007F}')).toBe('tag\\u{E0041}\\u{E007F}');
  });

  it('escapes C0 and C1 controls, DEL, a lone carriage return and the line separators', () => {
    expect(escapeHidden('\u001b[2J\u001b]0;title\u0007')).toBe('\\x1B[2J\\x1B]0;title\\x07');
    expect(escapeHidden('a\u0000b\u007fc\u0085d\u009be')).toBe('a\\x00b\\x7Fc\\x85d\\x9Be');
    expect(escapeHidden('safe\rrm -rf ~')).toBe('safe\\x0Drm -rf ~');
    expect(escapeHidden('a\u2028b\u2029c\u000bd\u000ce')).toBe('a\\u2028b\\u2029c\\x0Bd\\x0Ce');
  });

  it('keeps newline, tab, Windows line ends and ordinary text of any script as they are', () => {
    const text = 'line one\r\n\tline two\nélan 中文 Привет 😀 ✅ ’quotes’';
    expect(escapeHidden(text)).toBe(text);
    expect(hasHidden(text)).toBe(false);
  });

  it('says whether a text or any string of a value holds such a character', () => {
    expect(hasHidden('a\u202Eb')).toBe(true);
    expect(holdsHidden({ command: 'ls', env: ['x', 'y\u200B'] })).toBe(true);
    expect(holdsHidden({ ['k\u2066']: 1 })).toBe(true);
    expect(holdsHidden({ command: 'ls -la', n: 3, ok: true, none: null })).toBe(false);
    expect(holdsHidden(undefined)).toBe(false);
  });
});

describe('escapeHiddenJson', () => {
  it('escapes what JSON leaves raw, and the text parses back to the same value', () => {
    const value = { out: 'a\u202Eb\u0085c\u2028d\u{E0041}e\u001bf\r\n', ok: 'é😀' };
    const json = escapeHiddenJson(JSON.stringify(value, null, 2));
    expect(hasHidden(json)).toBe(false);
    expect(json).toContain('a\\u202Eb\\u0085c\\u2028d\\uDB40\\uDC41e\\u001bf');
    expect(JSON.parse(json)).toEqual(value);
  });
});
