/** The worker's secrets: the supervisor must never hold them, so nothing it logs or runs can leak them. */
export const WORKER_SECRETS = ['TELEGRAM_BOT_TOKEN', 'OPENAI_API_KEY'] as const;

/**
 * Removes the worker's secrets from `env` (the process environment) and returns the names that
 * held a value. PM2 keeps them out of the supervisor through `filter_env` when it starts it from
 * ecosystem.config.cjs, but `pm2 restart autonous-supervisor --update-env` (or `all`) from a
 * shell that exports them hands them over, and PM2 keeps them for every later restart.
 */
export function dropSecrets(env: NodeJS.ProcessEnv): string[] {
  const found: string[] = [];
  for (const name of Object.keys(env)) {
    if (WORKER_SECRETS.some((secret) => name.includes(secret))) {
      if ((env[name] ?? '') !== '') found.push(name);
      delete env[name];
    }
  }
  return found;
}

/**
 * Whether to restart the supervisor with the secrets blanked in what PM2 keeps for it: when some
 * were found, it runs under PM2 as `app`, and it has not just tried (no restart loop when PM2 does
 * not take the blanked values).
 */
export function shouldScrubPm2Env(
  dropped: readonly string[],
  env: NodeJS.ProcessEnv,
  app: string,
  triedRecently: boolean,
): boolean {
  return dropped.length > 0 && env.pm_id !== undefined && env.name === app && !triedRecently;
}
