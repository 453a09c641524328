import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/run-cli';
import { waitUntil } from '../helpers/wait-until';
import { useWorkerHarness } from '../helpers/worker-harness';

// Health that tells the truth: a worker that cannot reach Telegram records it, and
// `autonous status` names it and exits 1 once it has lasted longer than --max-poll-failure.

const h = useWorkerHarness();

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function health(): { failingSince: number | null; lastError: string | null; lastOkAt: number | null } | null {
  const row = h.rows(`SELECT value FROM kv WHERE key = 'ingress_health'`)[0];
  return row ? JSON.parse(String(row.value)) : null;
}

async function status(
  extra: string[],
): Promise<{ code: number; json: { problems: string[]; health: unknown } }> {
  const pm2Home = fs.mkdtempSync(path.join(os.tmpdir(), 'autonous-test-pm2-'));
  try {
    const result = await runCli(['--db', h.dbPath, '--json', 'status', ...extra], {
      PM2_HOME: pm2Home,
      AUTONOUS_ENV_FILE: '/dev/null',
    });
    return { code: result.code, json: JSON.parse(result.stdout) };
  } finally {
    fs.rmSync(pm2Home, { recursive: true, force: true });
  }
}

describe('edge health', () => {
  it('Telegram unreachable for longer than the bound: status names it and exits 1', async () => {
    // a port nothing listens on: every poll fails with ECONNREFUSED
    const port = await closedPort();
    await h.start({ TELEGRAM_API_ROOT: `http://127.0.0.1:${port}`, TG_SLEEP_SECONDS: '0.1' });
    await waitUntil(
      () => health()?.failingSince != null,
      10_000,
      () => `no failing health: ${JSON.stringify(health())}`,
    );
    await new Promise((r) => setTimeout(r, 1200));
    const { code, json } = await status(['--max-poll-failure', '1s']);
    expect(code).toBe(1);
    const problem = json.problems.find((p) => p.startsWith('Polling Telegram has failed for'));
    expect(problem).toContain(
      `ECONNREFUSED 127.0.0.1:${port} (limit 1s). Check the network and TELEGRAM_API_ROOT.`,
    );
    // within the bound it is a warning, not a problem
    const lenient = await status(['--max-poll-failure', '1h']);
    expect(lenient.json.problems.some((p) => p.startsWith('Polling Telegram'))).toBe(false);
    // the token never reaches the record
    expect(JSON.stringify(health())).not.toContain(h.telegram.token.split(':')[1]!);
  });

  it('a working poll records a success and no failure', async () => {
    await h.start();
    h.telegram.pushMessage(101, 'hello');
    await h.telegram.waitForSent(1);
    await waitUntil(
      () => health()?.lastOkAt != null,
      10_000,
      () => JSON.stringify(health()),
    );
    expect(health()).toMatchObject({ failingSince: null });
    const { json } = await status([]);
    expect(json.problems.some((p) => p.startsWith('Polling Telegram'))).toBe(false);
  });
});
