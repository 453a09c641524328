import { redact, redactBytes, redactValue, registerSecret, secretParts } from '../../src/shared/redact';

// Shaped like the real ones (and like the fakes' token and TEST_API_KEY), but made up here.
const TOKEN = '987654321:AAHk3rT9xQ_example-token-0123456789abc';
const TOKEN_SECRET = 'AAHk3rT9xQ_example-token-0123456789abc';
const KEY = 'sk-proj-Example0123456789abcdefABCDEF';
const KEY_BODY = 'proj-Example0123456789abcdefABCDEF';

describe('redact patterns', () => {
  it('catches a token and a key that follow a line break written as \\n in JSON', () => {
    const json = JSON.stringify({ result: `exit code 0\n${TOKEN}\n${KEY}\n` });
    expect(json).toContain(`\\n${TOKEN}`);
    const out = redact(json);
    expect(out).not.toContain(TOKEN_SECRET);
    expect(out).not.toContain(KEY_BODY);
    expect(JSON.parse(out)).toEqual({ result: 'exit code 0\n[redacted]\n[redacted]\n' });
  });

  it('catches them after other escapes (a tab, \\u001b) and at the start or inside a line', () => {
    const out = redact(
      JSON.stringify(`\t${TOKEN} \u001b${KEY} url=https://api.telegram.org/bot${TOKEN}/getMe`),
    );
    expect(out).not.toContain(TOKEN_SECRET);
    expect(out).not.toContain(KEY_BODY);
    expect(redact(`${TOKEN}`)).toBe('[redacted]');
    expect(redact(`key: ${KEY}-`)).toBe('key: [redacted]');
  });

  it('leaves digests and words that merely contain the shapes alone', () => {
    const digest = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(redact(digest)).toBe(digest);
    expect(redact('task-management-system-v2')).toBe('task-management-system-v2');
    expect(redact('12:30:45 port 8080:80')).toBe('12:30:45 port 8080:80');
  });

  it('keeps the bearer rule', () => {
    expect(redact('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [redacted]');
  });
});

describe('registered secrets', () => {
  it('a token registers its part after the colon, a key its body after sk-', () => {
    expect(secretParts(TOKEN)).toEqual([TOKEN, TOKEN_SECRET]);
    expect(secretParts(KEY)).toEqual([KEY, KEY_BODY]);
    expect(secretParts('plain-password')).toEqual(['plain-password']);
  });

  it('redacts those parts alone, wherever they stand, and a whole token without its bot id', () => {
    registerSecret(TOKEN);
    registerSecret(KEY);
    expect(redact(`half=${TOKEN_SECRET}; body=${KEY_BODY}x`)).toBe('half=[redacted]; body=[redacted]x');
    expect(redact(`a${TOKEN}b`)).toBe('a[redacted]b');
    // no word boundary needed for a known value: glued into a word or a URL it still goes
    expect(redact(`bot${TOKEN}/sendMessage`)).toBe('bot[redacted]/sendMessage');
  });

  it('ignores values too short to be a secret', () => {
    registerSecret('12:abcd');
    registerSecret('short');
    registerSecret(undefined);
    // the whole value is long enough to register, its part after the colon is not
    expect(redact('12:abcd, abcd and short')).toBe('[redacted], abcd and short');
  });
});

describe('redactValue and redactBytes', () => {
  it('redacts every string of a JSON-like value, keys too, before it is encoded', () => {
    const value = { steps: [{ result: `line\n${TOKEN}`, exitCode: 0 }], [KEY]: null, ok: true };
    const out = JSON.stringify(redactValue(value));
    expect(out).not.toContain(TOKEN_SECRET);
    expect(out).not.toContain(KEY_BODY);
    expect(redactValue(value)).toEqual({
      steps: [{ result: 'line\n[redacted]', exitCode: 0 }],
      '[redacted]': null,
      ok: true,
    });
  });

  it('replaces secrets in bytes and leaves every other byte of a binary file as it was', () => {
    const head = Buffer.from([0x00, 0xff, 0x89, 0x50, 0x4e, 0x47, 0x0a]);
    const tail = Buffer.from([0xc3, 0xa9, 0xfe, 0x00]);
    const out = redactBytes(Buffer.concat([head, Buffer.from(`TOKEN=${TOKEN}\n`), tail]));
    expect(out.redacted).toBe(true);
    expect(out.bytes.equals(Buffer.concat([head, Buffer.from('TOKEN=[redacted]\n'), tail]))).toBe(true);
    const clean = Buffer.concat([head, tail]);
    expect(redactBytes(clean)).toEqual({ bytes: clean, redacted: false });
  });
});
