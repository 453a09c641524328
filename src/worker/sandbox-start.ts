// How the agent's commands will run, decided once at start: the mount policy from the
// configuration, bubblewrap's detection, and a probe with the exact mounts a command gets, so a
// configuration under which every command would fail stops the worker here with a sentence
// instead of failing each run.
import fs from 'node:fs';
import path from 'node:path';
import { sandboxPolicyOf, type WorkerConfig } from '../shared/config';
import { ConfigError } from '../shared/env';
import type { Logger } from '../shared/log';
import { probePolicy, resolveSandbox, type SandboxDecision } from '../workspace/sandbox';
import { describePolicy, rootWarning } from '../workspace/sandbox-policy';

/**
 * Decides how commands run and proves it: throws ConfigError naming AGENT_SANDBOX when bwrap is
 * required but missing, or when bwrap works here but not with the configured mounts (naming
 * AGENT_SANDBOX_READ when it lists folders). Logs the decision, and a warning when run as root.
 */
export async function startSandbox(config: WorkerConfig, log: Logger): Promise<SandboxDecision> {
  const policy = sandboxPolicyOf(config);
  const decided = await resolveSandbox(config.agent.sandbox, process.env.PATH, policy);
  if (decided.kind === 'refuse') throw new ConfigError('AGENT_SANDBOX', `${decided.note}.`);
  if (!config.agent.tools) return decided;
  // /status shows the note: a root worker is said there too
  const sandbox = policy.asRoot ? { ...decided, note: `${decided.note}; ${rootWarning()}` } : decided;
  if (sandbox.kind === 'bwrap') {
    fs.mkdirSync(path.dirname(config.dbPath), { recursive: true, mode: 0o700 });
    const scratch = fs.mkdtempSync(path.join(path.dirname(config.dbPath), '.sandbox-probe-'));
    try {
      const probe = await probePolicy(sandbox, fs.realpathSync(scratch));
      if (!probe.ok) {
        const variable = policy.extraRead.length > 0 ? 'AGENT_SANDBOX_READ' : 'AGENT_SANDBOX';
        throw new ConfigError(
          variable,
          `Commands cannot run in bubblewrap with this configuration (${probe.error.split('\n')[0]}): check ${variable}, or set AGENT_SANDBOX=off to run them unsandboxed.`,
        );
      }
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
    log.info(`agent sandbox: ${sandbox.note}`, {
      mode: config.agent.sandbox,
      mounts: describePolicy(policy),
    });
  } else log.info(`agent sandbox: ${sandbox.note}`, { mode: config.agent.sandbox });
  if (policy.asRoot) log.warn(rootWarning());
  return sandbox;
}
