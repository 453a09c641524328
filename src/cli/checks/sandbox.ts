import { WORKER_SETTINGS } from '../../shared/settings';
import {
  CONTAINER_SANDBOX_FLAGS,
  inContainer,
  resolveSandbox,
  SANDBOX_MODES,
  type SandboxMode,
} from '../../workspace/sandbox';
import {
  defaultSandboxPolicy,
  describePolicy,
  rootWarning,
  type SandboxPolicy,
} from '../../workspace/sandbox-policy';
import { type CheckResult, fail, ok, skip, warn } from './check';

/**
 * How the agent's commands would run: in bubblewrap, or unsandboxed (and why). `auto` without a
 * working bwrap works but warns; `bwrap` without it fails (the worker refuses to start).
 */
export async function checkSandbox(
  tools: boolean,
  mode: string | undefined,
  policy?: SandboxPolicy,
): Promise<CheckResult> {
  if (!tools) return skip('sandbox', 'skipped: agent runs are off (AGENT_TOOLS=off)');
  const chosen = (mode?.trim() || WORKER_SETTINGS.AGENT_SANDBOX.default) as SandboxMode;
  if (!SANDBOX_MODES.includes(chosen)) {
    return skip('sandbox', 'skipped: fix AGENT_SANDBOX first');
  }
  const decision = await resolveSandbox(chosen, process.env.PATH, policy);
  const root = decision.kind !== 'refuse' && (policy ?? defaultSandboxPolicy()).asRoot;
  switch (decision.kind) {
    case 'bwrap': {
      // the mount policy in full, so the operator sees what a command can reach
      const detail = `${decision.note}\n${describePolicy(decision.policy)}`;
      return root
        ? warn(
            'sandbox',
            detail,
            'Run the worker as an ordinary user: a root worker gains nothing and risks more.',
          )
        : ok('sandbox', detail);
    }
    case 'refuse':
      return fail(
        'sandbox',
        decision.note,
        'Install bubblewrap (apt-get install bubblewrap) or set AGENT_SANDBOX=auto.',
      );
    case 'plain': {
      const note = root ? `${decision.note}; ${rootWarning()}` : decision.note;
      return chosen === 'off'
        ? warn('sandbox', note, 'Set AGENT_SANDBOX=auto to run commands in bubblewrap where it is installed.')
        : warn(
            'sandbox',
            note,
            inContainer()
              ? `In a container, ${CONTAINER_SANDBOX_FLAGS}: commands then see only system folders and the project, without network.`
              : 'Install bubblewrap (apt-get install bubblewrap): commands then see only system folders and the project, without network.',
          );
    }
  }
}
