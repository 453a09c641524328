import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// AGENT_SANDBOX=bwrap where bwrap cannot be found: the built worker refuses to start (exit 78,
// EXIT.config) naming the variable, instead of running commands unsandboxed.

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'worker', 'main.js');

it('AGENT_SANDBOX=bwrap without bwrap: the worker exits 78 naming AGENT_SANDBOX', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-sandbox-'));
  try {
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(
        process.execPath,
        [MAIN],
        {
          env: {
            PATH: dir, // no bwrap here
            TELEGRAM_BOT_TOKEN: '123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678',
            OPENAI_API_KEY: 'sk-test-0123456789abcdef',
            TELEGRAM_API_ROOT: 'http://127.0.0.1:9',
            TG_DB_PATH: path.join(dir, 'agent.db'),
            AUTONOUS_ENV_FILE: '/dev/null',
            AGENT_SANDBOX: 'bwrap',
          },
          timeout: 20_000,
        },
        (err, stdout, stderr) =>
          resolve({
            code: err ? (typeof err.code === 'number' ? err.code : null) : 0,
            output: stdout + stderr,
          }),
      );
    });
    expect(result.code).toBe(78);
    expect(result.output).toContain('AGENT_SANDBOX');
    expect(fs.existsSync(path.join(dir, 'agent.db'))).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
