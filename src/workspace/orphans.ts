// Commands that outlive a killed worker. Without bwrap (whose --die-with-parent takes care of it)
// a command's process group is detached on purpose, so a SIGKILL of the worker leaves it
// running: its outcome would land after the run was told "interrupted, outcome unknown". Each
// running command leaves a marker naming its group; the next start kills the groups left over.
import fs from 'node:fs';
import path from 'node:path';

// Marker files end so, beside the command's output file in the run's folder.
const MARKER = '.pgid.json';

interface Marker {
  readonly pgid: number;
  /** The group leader's start time (clock ticks since boot), so a reused pid is never killed. */
  readonly start: string | null;
}

/** Field 22 of /proc/<pid>/stat: when the process started; null when there is no such process. */
function startTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: count from after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** The marker path for a command whose whole output goes to `outputPath`. */
export function markerFor(outputPath: string): string {
  return `${outputPath}${MARKER}`;
}

/** Records that `pid` leads a running command's group. */
export function recordGroup(marker: string, pid: number): void {
  const body: Marker = { pgid: pid, start: startTime(pid) };
  try {
    fs.writeFileSync(marker, JSON.stringify(body));
  } catch {
    // a marker that cannot be written only weakens the clean-up after a crash
  }
}

/** The command ended: its marker goes. */
export function forgetGroup(marker: string): void {
  fs.rmSync(marker, { force: true });
}

/**
 * Kills, with SIGKILL, every command group a dead worker left running under `runsDir` (the
 * folder of the runs' folders), and removes their markers. Returns how many groups were killed.
 */
export function reapOrphans(runsDir: string): number {
  let killed = 0;
  let runs: string[];
  try {
    runs = fs.readdirSync(runsDir);
  } catch {
    return 0;
  }
  for (const run of runs) {
    const dir = path.join(runsDir, run);
    let files: string[];
    try {
      files = fs.readdirSync(dir).filter((f) => f.endsWith(MARKER));
    } catch {
      continue;
    }
    for (const file of files) {
      const marker = path.join(dir, file);
      try {
        const { pgid, start } = JSON.parse(fs.readFileSync(marker, 'utf8')) as Marker;
        // the same leader still runs (not a pid reused by another process since)
        if (Number.isInteger(pgid) && pgid > 1 && start !== null && startTime(pgid) === start) {
          process.kill(-pgid, 'SIGKILL');
          killed++;
        }
      } catch {
        // gone already, or an unreadable marker: nothing to kill
      }
      forgetGroup(marker);
    }
  }
  return killed;
}
