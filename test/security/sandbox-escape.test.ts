import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BWRAP_WORKS } from '../helpers/temp-dir';
import {
  ask,
  bwrapOr,
  lastToolResults,
  personGit,
  uid,
  useSecurityWorld,
  type SecurityWorld,
} from '../helpers/security-world';

// Attacks on the bubblewrap sandbox of `bash`, through the real worker and a scripted model: what
// a command may reach besides its project. Everything it must not reach lives outside /tmp (the
// sandbox's /tmp is its own, so a secret kept there would be hidden by accident).

jest.setTimeout(60_000);
const w = useSecurityWorld();
const BWRAP = bwrapOr('bwrap does not sandbox on this machine (BWRAP_WORKS is false)', BWRAP_WORKS);
const itBwrap = BWRAP ? it : it.skip;
const SANDBOXED = { AGENT_SANDBOX: 'bwrap' };

/** Runs the bash commands in one model response, then answers with their results; returns them. */
async function runBash(world: SecurityWorld, commands: readonly string[]): Promise<string[]> {
  world.openai.script([
    { toolCalls: commands.map((command) => ({ name: 'bash', arguments: { command } })) },
    'ATTACK OVER',
  ]);
  await world.start(SANDBOXED);
  await ask(world, 'please check a few things', 'ATTACK OVER');
  await world.settled();
  const results = lastToolResults(world);
  expect(results).toHaveLength(commands.length);
  return results;
}

/** A node one-liner that tries each socket and prints CONNECTED or REFUSED per path. */
function connectScript(paths: readonly string[]): string {
  const js =
    'const net=require("net");for(const p of process.argv.slice(1)){const s=net.connect(p);' +
    'const t=setTimeout(()=>{console.log("NO-ANSWER "+p);s.destroy()},3000);' +
    's.on("connect",()=>{console.log("CONNECTED "+p);clearTimeout(t);s.destroy()});' +
    's.on("error",e=>{console.log("REFUSED "+p+" "+e.code);clearTimeout(t)})}';
  return `node -e 'console.log("NODE-RAN")' && node -e '${js}' ${paths.join(' ')}`;
}

describe('bash in bwrap cannot reach the daemons of the machine', () => {
  itBwrap("cannot connect to PM2's socket, a socket in the home folder, or one under /run", async () => {
    const id = uid();
    const runDir = w.removeAfter(`/run/autonous-sec-${id}`);
    const servers = [
      await w.listen(path.join(w.pm2Home, 'rpc.sock')),
      await w.listen(w.removeAfter(path.join(os.homedir(), `autonous-sec-${id}.sock`))),
      await w.listen(path.join(runDir, 'x.sock')),
    ];
    const [output] = await runBash(w, [connectScript(servers.map((s) => s.path))]);
    console.log(`socket attack, what the command saw:\n${output}`);
    expect(output).toContain('NODE-RAN');
    expect(output).not.toContain('CONNECTED');
    for (const server of servers)
      expect({ socket: server.path, connections: server.connections() }).toEqual({
        socket: server.path,
        connections: 0,
      });
    expect(w.leaks()).toBe('');
  });
});

describe('root in bwrap has no capabilities', () => {
  itBwrap(
    'mount and umount fail: the env file and the state folder stay hidden, nothing outside is written',
    async () => {
      const marker = path.join(w.outside, 'remount-marker');
      const [mounts, after] = await runBash(w, [
        [
          `umount ${w.envFile} && echo UMOUNT-ENV-OK || echo UMOUNT-ENV-FAILED`,
          `cat ${w.envFile}`,
          `umount ${w.stateDir} && echo UMOUNT-STATE-OK || echo UMOUNT-STATE-FAILED`,
          `ls -la ${w.stateDir}`,
          `mount -o remount,bind,rw / && echo REMOUNT-OK || echo REMOUNT-FAILED`,
          `echo escaped > ${marker}`,
          `mount -t tmpfs x /mnt && echo TMPFS-OK || echo TMPFS-FAILED`,
          `mount --bind ${w.outside} /mnt && echo BIND-OK || echo BIND-FAILED`,
          'true',
        ].join('\n'),
        `cat ${w.envFile}; ls ${w.stateDir}; true`,
      ]);
      console.log(`mount attack, what the command saw:\n${mounts}`);
      expect(mounts).not.toMatch(/\b(UMOUNT-ENV|UMOUNT-STATE|REMOUNT|TMPFS|BIND)-OK\b/);
      for (const output of [mounts, after]) {
        expect(output).not.toContain(w.canary);
        expect(output).not.toContain('agent.db');
      }
      expect(fs.existsSync(marker)).toBe(false);
      expect(fs.readdirSync(w.outside)).toEqual([]);
      expect(w.leaks()).toBe('');
    },
  );
});

describe('bash in bwrap cannot read the home folder', () => {
  itBwrap("a file of the home folder and PM2_HOME's dump.pm2 cannot be read", async () => {
    const homeCanary = `homecanary${uid()}${uid()}`;
    const probe = w.removeAfter(path.join(os.homedir(), `autonous-sec-${uid()}-probe.txt`));
    fs.writeFileSync(probe, `${homeCanary}\n`);
    const [output, listing] = await runBash(w, [
      `cat ${probe}; cat ${path.join(w.pm2Home, 'dump.pm2')}; cat ~root/${path.basename(probe)}; true`,
      `ls -a ${os.homedir()}; true`,
    ]);
    console.log(`home attack, what the command saw:\n${output}\n${listing}`);
    expect(output).not.toContain(homeCanary);
    expect(output).not.toContain(w.pm2Canary);
    // the home folder, if there is one, is not the real one: none of the test's entries are listed
    const entries = listing!.split('\n').map((line) => line.trim());
    expect(entries).not.toContain(path.basename(w.homeDir));
    expect(entries).not.toContain(path.basename(probe));
    expect(w.leaks([w.pm2Canary, homeCanary, w.canary, w.token, w.apiKey])).toBe('');
  });

  itBwrap('the checkout the worker runs from (AUTONOUS_HOME) cannot be read', async () => {
    const checkoutCanary = `checkoutcanary${uid()}${uid()}`;
    fs.writeFileSync(path.join(w.checkout, 'NOTES.md'), `${checkoutCanary}\n`);
    const [output, listing] = await runBash(w, [
      `cat ${path.join(w.checkout, 'NOTES.md')}; true`,
      `ls ${w.checkout}; true`,
    ]);
    expect(output).not.toContain(checkoutCanary);
    expect(listing!.split('\n').map((line) => line.trim())).not.toContain('package.json');
  });
});

describe('.git is not writable from the sandbox', () => {
  /** What a person's own git runs in that folder: status (fsmonitor) and a commit (hooks). */
  function personUsesTheRepo(root: string): void {
    for (const args of [['status'], ['commit', '--allow-empty', '-q', '-m', 'my own commit']]) {
      try {
        personGit(root, args);
      } catch (err) {
        console.log(`git ${args[0]} failed: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }

  itBwrap(
    "a core.fsmonitor and a pre-commit hook planted by bash do not run in the person's git",
    async () => {
      const fsmonitor = path.join(w.outside, 'fsmonitor-ran');
      const hook = path.join(w.outside, 'hook-ran');
      const [output] = await runBash(w, [
        [
          `git config core.fsmonitor "touch ${fsmonitor}; false"; echo CONFIG=$?`,
          `printf '#!/bin/sh\\ntouch ${hook}\\n' > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit; echo HOOK=$?`,
          `mkdir -p myhooks && printf '#!/bin/sh\\ntouch ${hook}\\n' > myhooks/post-commit && chmod +x myhooks/post-commit`,
          'git config core.hooksPath myhooks; echo HOOKSPATH=$?',
          'echo change > file.txt',
        ].join('\n'),
      ]);
      console.log(`.git attack, what the command saw:\n${output}`);
      personUsesTheRepo(w.project());
      expect({ fsmonitorRan: fs.existsSync(fsmonitor), hookRan: fs.existsSync(hook) }).toEqual({
        fsmonitorRan: false,
        hookRan: false,
      });
    },
  );

  itBwrap('nor when bash swaps the whole .git folder for a copy it changed', async () => {
    const fsmonitor = path.join(w.outside, 'fsmonitor-ran');
    const hook = path.join(w.outside, 'hook-ran');
    const [output] = await runBash(w, [
      [
        'cp -a .git .git-copy; echo COPY=$?',
        `printf '[core]\\n\\tfsmonitor = touch ${fsmonitor}; false\\n' >> .git-copy/config`,
        `printf '#!/bin/sh\\ntouch ${hook}\\n' > .git-copy/hooks/pre-commit; chmod +x .git-copy/hooks/pre-commit`,
        'mv .git .git-old; echo MOVE-OLD=$?',
        'mv .git-copy .git; echo MOVE-NEW=$?',
        'echo change > file.txt',
      ].join('\n'),
    ]);
    console.log(`.git swap attack, what the command saw:\n${output}`);
    personUsesTheRepo(w.project());
    expect({ fsmonitorRan: fs.existsSync(fsmonitor), hookRan: fs.existsSync(hook) }).toEqual({
      fsmonitorRan: false,
      hookRan: false,
    });
  });

  itBwrap('nor through a .git/commondir that points git at a config bash wrote', async () => {
    const fsmonitor = path.join(w.outside, 'commondir-fsmonitor-ran');
    const [output] = await runBash(w, [
      [
        // a bare repository in the project (no .git of its own: no nested repository to find),
        // given the project's objects and refs so that git accepts it as the common folder
        'git init -q --bare common && rm -rf common/objects common/refs',
        'cp -a .git/objects .git/refs .git/HEAD common/ 2>/dev/null; true',
        `git config --file common/config core.fsmonitor "touch ${fsmonitor}; false"`,
        'echo "$PWD/common" > .git/commondir; echo COMMONDIR=$?',
        'echo change > file.txt',
      ].join('\n'),
    ]);
    console.log(`commondir attack, what the command saw:\n${output}`);
    expect(output).toMatch(/removed \.git\/commondir/);
    expect(fs.existsSync(path.join(w.project(), '.git', 'commondir'))).toBe(false);
    personUsesTheRepo(w.project());
    expect(fs.existsSync(fsmonitor)).toBe(false);
  });

  itBwrap("nor through a nested repository's config (its .git is a folder of the project)", async () => {
    const fsmonitor = path.join(w.outside, 'nested-fsmonitor-ran');
    const [output] = await runBash(w, [
      [
        'git init -q sub && git -C sub -c user.name=a -c user.email=a@b commit -q --allow-empty -m sub',
        `git -C sub config core.fsmonitor "touch ${fsmonitor}; false"; echo CONFIG=$?`,
        'echo change > sub/file.txt',
      ].join('\n'),
    ]);
    console.log(`nested repository attack, what the command saw:\n${output}`);
    personUsesTheRepo(w.project());
    expect(fs.existsSync(fsmonitor)).toBe(false);
  });
});
