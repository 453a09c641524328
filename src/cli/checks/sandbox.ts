import { resolveSandbox, SANDBOX_MODES, type SandboxMode } from '../../workspace/sandbox';
import { type CheckResult, fail, ok, skip, warn } from './check';

/**
 * How the agent's commands would run: in bubblewrap, or unsandboxed (and why). `auto` without a
 * working bwrap works but warns; `bwrap` without it fails (the worker refuses to start).
 */
export async function checkSandbox(tools: boolean, mode: string | undefined): Promise<CheckResult> {
  if (!tools) return skip('sandbox', 'skipped: agent runs are off (AGENT_TOOLS=off)');
  const chosen = (mode?.trim() || 'auto') as SandboxMode;
  if (!SANDBOX_MODES.includes(chosen)) {
    return skip('sandbox', 'skipped: fix AGENT_SANDBOX first');
  }
  const decision = await resolveSandbox(chosen);
  switch (decision.kind) {
    case 'bwrap':
      return ok('sandbox', decision.note);
    case 'refuse':
      return fail(
        'sandbox',
        decision.note,
        'Install bubblewrap (apt-get install bubblewrap) or set AGENT_SANDBOX=auto.',
      );
    case 'plain':
      return chosen === 'off'
        ? warn(
            'sandbox',
            decision.note,
            'Set AGENT_SANDBOX=auto to run commands in bubblewrap where it is installed.',
          )
        : warn(
            'sandbox',
            decision.note,
            'Install bubblewrap (apt-get install bubblewrap): commands then run read-only but the project, without network.',
          );
  }
}
