// Resident memory of other processes, as the kernel counts it (VmRSS in /proc/<pid>/status).
import fs from 'node:fs';

/** VmRSS of `pid` in MB (2^20 bytes), or NaN when the process is gone or /proc is not there. */
export function rssMb(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return NaN;
  }
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb === undefined ? NaN : Number(kb) / 1024;
}

/** Samples the RSS of named processes on an interval and keeps each one's peak since `reset`. */
export class RssSampler {
  private readonly peaks = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** The processes to sample, looked up at every sample (a restarted process has a new pid). */
    private readonly pids: () => ReadonlyMap<string, number | undefined>,
    private readonly intervalMs = 100,
  ) {}

  /** Starts sampling; a second call does nothing. */
  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  /** Stops sampling (peaks are kept). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Forgets every peak. */
  reset(): void {
    this.peaks.clear();
  }

  /** The highest RSS seen of `name` since the last reset, NaN when none was seen. */
  peak(name: string): number {
    this.sample();
    return this.peaks.get(name) ?? NaN;
  }

  private sample(): void {
    for (const [name, pid] of this.pids()) {
      const mb = rssMb(pid);
      if (Number.isFinite(mb) && mb > (this.peaks.get(name) ?? 0)) this.peaks.set(name, mb);
    }
  }
}
