import type { Env } from '../../shared/env';
import { APPS } from '../../shared/contracts';
import { readPm2 } from '../pm2';
import { type CheckResult, fail, ok, warn } from './check';

const NAME = 'pm2';

/** The daemon answers and both apps are present: the PM2 check line. */
export async function checkPm2(env: Env, now: number): Promise<CheckResult> {
  const pm2 = await readPm2(env, now);
  if (!pm2.reachable) {
    return fail(
      NAME,
      `the PM2 daemon is not reachable (${pm2.error})`,
      'Start the apps: npm start (pm2 start ecosystem.config.cjs), with the same PM2_HOME as here.',
    );
  }
  const missing = APPS.filter((name) => !pm2.apps.some((app) => app.name === name));
  if (missing.length > 0) {
    return fail(
      NAME,
      `PM2 (${pm2.home}) has no ${missing.join(' and ')}`,
      'Start them: pm2 start ecosystem.config.cjs (from the project folder).',
    );
  }
  const states = APPS.map((name) => `${name} ${pm2.apps.find((app) => app.name === name)?.status ?? '?'}`);
  const down = APPS.filter((name) => pm2.apps.find((app) => app.name === name)?.status !== 'online');
  if (down.length > 0) {
    return warn(
      NAME,
      states.join(', '),
      `See why with: pm2 logs ${down[0]} --lines 50; then pm2 restart ${down[0]}.`,
    );
  }
  return ok(NAME, states.join(', '));
}
