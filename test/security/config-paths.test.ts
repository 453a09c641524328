import fs from 'node:fs';
import path from 'node:path';
import { BWRAP_WORKS } from '../helpers/temp-dir';
import {
  ask,
  bwrapOr,
  lastToolResults,
  uid,
  useSecurityWorld,
  type SecurityWorld,
} from '../helpers/security-world';

// What the worker hides from commands is named by its configuration: those names must be taken
// as the paths they really are (absolute, symlinks resolved), and no configured project may expose
// again what is hidden.

jest.setTimeout(60_000);
const w = useSecurityWorld();
const BWRAP = bwrapOr('bwrap does not sandbox on this machine (BWRAP_WORKS is false)', BWRAP_WORKS);
const itBwrap = BWRAP ? it : it.skip;

describe('AGENT_PROJECTS cannot expose a hidden path again', () => {
  const cases: [string, (world: SecurityWorld) => string][] = [
    ['the folder that holds the state folder and the env file', (world) => world.base],
    ['the state folder itself', (world) => world.stateDir],
    ['the folder that holds the env file', (world) => path.dirname(world.envFile)],
    [
      'a symlink to the state folder',
      (world) => {
        const link = path.join(world.base, 'outside', 'state-link');
        fs.symlinkSync(world.stateDir, link);
        return link;
      },
    ],
  ];
  it.each(cases)(
    'a project naming %s is refused at start with a ConfigError naming AGENT_PROJECTS',
    async (_what, dir) => {
      const projects = `evil=${dir(w)}`;
      let error: unknown;
      try {
        await w.start({ AGENT_PROJECTS: projects });
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ name: 'ConfigError', variable: 'AGENT_PROJECTS' });
      expect(String((error as Error | undefined)?.message)).toMatch(/AGENT_PROJECTS/);
    },
  );
});

/** One bash command in the sandbox with the worker started by `extra`; returns its result. */
async function bashWith(
  world: SecurityWorld,
  extra: Record<string, string | undefined>,
  command: string,
): Promise<string> {
  world.openai.script([{ toolCalls: [{ name: 'bash', arguments: { command } }] }, 'ATTACK OVER']);
  await world.start({ AGENT_SANDBOX: 'bwrap', ...extra });
  await ask(world, 'check the paths', 'ATTACK OVER');
  const [result] = lastToolResults(world);
  return result ?? '';
}

describe('hidden paths are taken as the real, absolute paths they name', () => {
  itBwrap('a symlinked env file: bash works and the real file stays hidden', async () => {
    const link = path.join(w.base, 'outside', 'env-link');
    fs.symlinkSync(w.envFile, link);
    const output = await bashWith(
      w,
      { AUTONOUS_ENV_FILE: link },
      `cat ${w.envFile}; cat ${link}; echo BASH-OK`,
    );
    console.log(`symlinked env file:\n${output}`);
    expect(output).toContain('BASH-OK');
    expect(output).not.toContain(w.canary);
    expect(w.leaks()).toBe('');
  });

  itBwrap('a relative AUTONOUS_ENV_FILE: bash works and the file stays hidden', async () => {
    const relative = path.join('config', 'autonous.env');
    fs.mkdirSync(path.join(w.checkout, 'config'));
    fs.copyFileSync(w.envFile, path.join(w.checkout, relative));
    fs.rmSync(w.envFile);
    // the worker runs from its checkout (PM2's cwd): a relative name is taken from there
    process.chdir(w.checkout);
    const output = await bashWith(
      w,
      { AUTONOUS_ENV_FILE: relative },
      `cat ${path.join(w.checkout, relative)}; echo BASH-OK`,
    );
    console.log(`relative env file:\n${output}`);
    expect(output).toContain('BASH-OK');
    expect(output).not.toContain(w.canary);
    expect(w.leaks()).toBe('');
  });

  itBwrap('a symlinked AUTONOUS_HOME with a relative TG_DB_PATH: the state folder stays hidden', async () => {
    const home = path.join(w.base, 'home-link');
    fs.symlinkSync(w.checkout, home);
    const realState = path.join(w.checkout, 'state');
    const output = await bashWith(
      w,
      { AUTONOUS_HOME: home, TG_DB_PATH: path.join('state', 'agent.db'), AGENT_WORKSPACES: 'workspaces' },
      `head -c 64 ${realState}/agent.db; ls ${realState} ${home}/state; cat ${w.envFile}; echo BASH-OK`,
    );
    console.log(`symlinked AUTONOUS_HOME:\n${output}`);
    expect(fs.existsSync(path.join(realState, 'agent.db'))).toBe(true);
    expect(output).toContain('BASH-OK');
    expect(output).not.toContain('SQLite format');
    // no listing of the state folder: agent.db as an entry of its own
    expect(output.split('\n').map((line) => line.trim())).not.toContain('agent.db');
    expect(output).not.toContain(w.canary);
  });

  itBwrap('AUTONOUS_ENV_FILE=/dev/null: commands can still write to /dev/null', async () => {
    const output = await bashWith(
      w,
      { AUTONOUS_ENV_FILE: '/dev/null', TELEGRAM_BOT_TOKEN: w.token, OPENAI_API_KEY: w.apiKey },
      'echo hi > /dev/null && echo DEVNULL-OK; ls -l /dev/null; echo BASH-OK',
    );
    console.log(`/dev/null:\n${output}`);
    expect(output).toContain('DEVNULL-OK');
    expect(output).toContain('BASH-OK');
  });

  itBwrap(
    'a deployment in folders commands may read (/opt, /etc): its state folder, env file and checkout stay hidden',
    async () => {
      const id = uid();
      const deployment = w.removeAfter(`/opt/autonous-sec-${id}`);
      const etc = w.removeAfter(`/etc/autonous-sec-${id}`);
      const checkout = path.join(deployment, 'checkout');
      const envFile = path.join(etc, 'autonous.env');
      fs.mkdirSync(path.join(checkout, 'state'), { recursive: true });
      fs.mkdirSync(etc, { recursive: true });
      fs.copyFileSync(w.envFile, envFile);
      fs.rmSync(w.envFile);
      const checkoutCanary = `checkoutcanary${uid()}${uid()}`;
      fs.writeFileSync(path.join(checkout, 'NOTES.md'), `${checkoutCanary}\n`);
      const output = await bashWith(
        w,
        {
          AUTONOUS_HOME: checkout,
          AUTONOUS_ENV_FILE: envFile,
          TG_DB_PATH: path.join(checkout, 'state', 'agent.db'),
          AGENT_WORKSPACES: path.join(checkout, 'state', 'workspaces'),
        },
        `cat ${envFile}; cat ${checkout}/NOTES.md; head -c 64 ${checkout}/state/agent.db; ls ${checkout}/state; echo BASH-OK`,
      );
      console.log(`deployment under /opt and /etc:\n${output}`);
      expect(fs.existsSync(path.join(checkout, 'state', 'agent.db'))).toBe(true);
      expect(output).toContain('BASH-OK');
      expect(output).not.toContain(w.canary);
      expect(output).not.toContain(checkoutCanary);
      expect(output).not.toContain('SQLite format');
      expect(output.split('\n').map((line) => line.trim())).not.toContain('agent.db');
    },
  );
});
