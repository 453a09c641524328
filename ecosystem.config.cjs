// PM2 app list. No logic beyond reading configuration (and the bootstrap `current` link below):
// the processes validate their own.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseEnv } = require('node:util');

const home = process.env.AUTONOUS_HOME || __dirname;
const logDir = process.env.AUTONOUS_LOG_DIR || path.join(home, 'state', 'logs');
// Secrets reach the worker only: PM2 copies the caller's environment into every app unless told not to.
const SECRETS = ['TELEGRAM_BOT_TOKEN', 'OPENAI_API_KEY'];

// A setting as the processes read it: the environment, else the env file (never a secret here).
function setting(name) {
  const value = (process.env[name] || '').trim();
  if (value !== '') return value;
  try {
    const file = process.env.AUTONOUS_ENV_FILE || path.join(os.homedir(), '.env');
    return (parseEnv(fs.readFileSync(file, 'utf8'))[name] || '').trim() || undefined;
  } catch {
    return undefined;
  }
}

// The worker runs through `current` in the releases folder beside the database, which the
// supervisor re-points on release and rollback (PM2 keeps the script path as given, symlinks
// and all). Before the supervisor has recorded a first revision, `current` is this checkout.
const database = path.resolve(home, setting('TG_DB_PATH') || path.join('state', 'agent.db'));
const releases = path.join(path.dirname(database), 'releases');
try {
  fs.mkdirSync(releases, { recursive: true, mode: 0o700 });
  fs.symlinkSync(path.resolve(home), path.join(releases, 'current'));
} catch (err) {
  if (err.code !== 'EEXIST') throw err;
}

module.exports = {
  apps: [
    {
      name: 'autonous-worker',
      script: path.join(releases, 'current', 'dist', 'worker', 'main.js'),
      cwd: home,
      env: { AUTONOUS_HOME: home, NODE_ENV: 'production' },
      out_file: path.join(logDir, 'worker.out.log'),
      error_file: path.join(logDir, 'worker.err.log'),
      merge_logs: true,
      // SIGINT first, then this long for the message in flight before SIGKILL
      kill_timeout: 10000,
      exp_backoff_restart_delay: 100,
      // 78 = bad configuration: restarting cannot fix it
      stop_exit_codes: [78],
      autorestart: true,
      // No @pm2/io injected: it hooks every HTTP request and holds ~9 MB. Custom metrics still
      // reach `pm2 show` / `pm2 monit` through tx2, which talks over PM2's IPC channel.
      pmx: false,
    },
    {
      name: 'autonous-supervisor',
      script: path.join(home, 'dist', 'supervisor-hooks', 'main.js'),
      cwd: home,
      env: { AUTONOUS_HOME: home, NODE_ENV: 'production' },
      filter_env: SECRETS,
      // Its idle memory counts (target 50 MB, most of it node itself): no @pm2/io agent injected (it
      // reports nothing here), V8's interpreter only (a process that wakes once a second needs no
      // JIT; WebAssembly goes with it, which it never uses), and a small young generation.
      pmx: false,
      node_args: ['--jitless', '--no-expose-wasm', '--max-semi-space-size=1'],
      out_file: path.join(logDir, 'supervisor.out.log'),
      error_file: path.join(logDir, 'supervisor.err.log'),
      merge_logs: true,
      kill_timeout: 5000,
      exp_backoff_restart_delay: 100,
      stop_exit_codes: [78],
      autorestart: true,
    },
  ],
};
