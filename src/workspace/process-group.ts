// A child spawned `detached` leads a process group of its own: whatever it starts (a shell's
// background job, a filter git runs) is in that group, so signalling the group ends all of it.
// Shared by the agent's commands and the worker's git, which must both end everything they
// started when they time out or are stopped.
import fs from 'node:fs';

/** Signals the whole process group; false when the group is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    return false;
  }
}

/** How long a SIGKILLed group may take to disappear (dying processes are reaped asynchronously). */
const GROUP_GONE_MS = 2000;

/**
 * Whether a process of the group still runs. A zombie does not count: it runs nothing, and an
 * orphan's zombie waits for init to reap it, which some containers' init does only every second
 * or two. Where there is no /proc, any member counts (kill 0).
 */
export function groupRuns(pgid: number): boolean {
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so cut after the last ')'
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

/** Resolves once no process of the group runs, or after GROUP_GONE_MS. */
export async function groupGone(pgid: number): Promise<void> {
  const deadline = performance.now() + GROUP_GONE_MS;
  while (groupRuns(pgid) && performance.now() < deadline) {
    // No event tells when the last member of a group is gone: poll briefly.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
