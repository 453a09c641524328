/** The worker's secrets: the supervisor must never hold them (DESIGN invariant 6). */
export const WORKER_SECRETS = ['TELEGRAM_BOT_TOKEN', 'OPENAI_API_KEY'] as const;

/**
 * Removes the worker's secrets from `env` (the process environment) and returns the names that
 * were there. PM2 keeps them out of the supervisor through `filter_env`, but a
 * `pm2 restart autonous-supervisor --update-env` from a shell that exports them would hand them
 * over: this is the second line.
 */
export function dropSecrets(env: NodeJS.ProcessEnv): string[] {
  const found: string[] = [];
  for (const name of Object.keys(env)) {
    if (WORKER_SECRETS.some((secret) => name.includes(secret))) {
      found.push(name);
      delete env[name];
    }
  }
  return found;
}
