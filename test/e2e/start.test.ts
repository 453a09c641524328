import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// `npm start` runs dist/worker/preflight.js before `pm2 start`: without the secrets it must say
// which variable to set, exit 78, and so never reach PM2.

const REPO = path.resolve(__dirname, '..', '..');

function preflight(env: Record<string, string>): { status: number | null; stderr: string; stdout: string } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-home-'));
  try {
    const result = spawnSync(process.execPath, [path.join(REPO, 'dist', 'worker', 'preflight.js')], {
      env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
      encoding: 'utf8',
    });
    return { status: result.status, stderr: result.stderr, stdout: result.stdout };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

describe('npm start preflight', () => {
  it('names TELEGRAM_BOT_TOKEN and exits 78 when no secret is set', () => {
    const result = preflight({});
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(
      /^autonous cannot start: TELEGRAM_BOT_TOKEN is not set: set it to the token @BotFather gave you/,
    );
  });

  it('names OPENAI_API_KEY when only the bot token is set', () => {
    const result = preflight({ TELEGRAM_BOT_TOKEN: '123:abcdefghijklmnopqrstuvwxyz' });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('OPENAI_API_KEY is not set');
    expect(result.stderr).not.toContain('abcdefghijklmnopqrstuvwxyz');
  });

  it('reads the secrets from ~/.env and warns that an empty allowlist answers no one', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-home-'));
    fs.writeFileSync(
      path.join(home, '.env'),
      'TELEGRAM_BOT_TOKEN=123:abcdefghijklmnop\nOPENAI_API_KEY=sk-abcdefghijklmnop\n',
    );
    const result = spawnSync(process.execPath, [path.join(REPO, 'dist', 'worker', 'preflight.js')], {
      env: { PATH: process.env.PATH ?? '', HOME: home },
      encoding: 'utf8',
    });
    fs.rmSync(home, { recursive: true, force: true });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('TG_ALLOWED_CHAT_IDS is empty');
  });

  it('runs before pm2 in npm start', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      scripts: { start: string };
    };
    expect(pkg.scripts.start.indexOf('preflight')).toBeGreaterThanOrEqual(0);
    expect(pkg.scripts.start.indexOf('preflight')).toBeLessThan(pkg.scripts.start.indexOf('pm2 start'));
  });
});
