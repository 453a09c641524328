// The entry point of `bin/autonous`: runs the CLI on the process and exits with its code.
import { createOutput } from './output';
import { run } from './run';

const out = createOutput(process.stdout, process.stderr, process.env);

// `autonous queue ls | head` closes the pipe early: the rest of the output has nowhere to go, which
// is not an error; the command still ends with its own exit code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
}

void run(process.argv, { out, env: process.env, now: Date.now, exitCode: 0 }).then((code) => {
  // Exit explicitly: pm2's RPC client can keep sockets open after the answer is printed.
  // stdout and stderr are synchronous for files and pipes on POSIX, so nothing is lost.
  process.exit(code);
});
