// PM2 app list. No logic beyond reading configuration: the processes validate their own.
const path = require('node:path');

const home = process.env.AUTONOUS_HOME || __dirname;
const logDir = process.env.AUTONOUS_LOG_DIR || path.join(home, 'state', 'logs');
// Secrets reach the worker only: PM2 copies the caller's environment into every app unless told not to.
const SECRETS = ['TELEGRAM_BOT_TOKEN', 'OPENAI_API_KEY'];

module.exports = {
  apps: [
    {
      name: 'autonous-worker',
      script: path.join(home, 'dist', 'worker', 'main.js'),
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
    },
    {
      name: 'autonous-supervisor',
      script: path.join(home, 'dist', 'supervisor-hooks', 'main.js'),
      cwd: home,
      env: { AUTONOUS_HOME: home, NODE_ENV: 'production' },
      filter_env: SECRETS,
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
