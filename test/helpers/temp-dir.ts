/** Temporary folders for workspace tests, each removed after its test file. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BWRAP_WORKS_ARGS } from '../../src/workspace/sandbox';

/** Creates real temp folders (real paths) and removes them all in `cleanup()`. */
export function tempDirs(): { make: (prefix?: string, parent?: string) => string; cleanup: () => void } {
  const made: string[] = [];
  return {
    make(prefix = 'autonous-ws-', parent = os.tmpdir()) {
      const dir = fs.realpathSync(fs.mkdtempSync(path.join(parent, prefix)));
      made.push(dir);
      return dir;
    },
    cleanup() {
      for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether bubblewrap sandboxes on this machine, known when the test file is collected so that
 * bwrap-only suites can be skipped with a reason.
 */
export const BWRAP_WORKS: boolean =
  spawnSync('bwrap', [...BWRAP_WORKS_ARGS, '--', 'true'], { stdio: 'ignore' }).status === 0;
