import fs from 'node:fs';
import path from 'node:path';
import { BWRAP_WORKS } from '../helpers/temp-dir';
import { ask, bwrapOr, lastToolResults, personGit, useSecurityWorld } from '../helpers/security-world';

// Project self is a clone of the checkout the worker runs from. Its commands get the checkout's
// packages to build and test with, read-only, and nothing else of the checkout: not its other
// files, not its git folder, and they can change neither.

jest.setTimeout(60_000);
const w = useSecurityWorld();
const BWRAP = bwrapOr('bwrap does not sandbox on this machine (BWRAP_WORKS is false)', BWRAP_WORKS);
const itBwrap = BWRAP ? it : it.skip;

/** The checkout as a git repository with a package, and a file of the operator's next to it. */
function makeCheckout(): void {
  const checkout = w.checkout;
  fs.mkdirSync(path.join(checkout, 'src'), { recursive: true });
  fs.writeFileSync(path.join(checkout, 'src', 'main.ts'), 'export const x = 1;\n');
  fs.writeFileSync(path.join(checkout, '.gitignore'), 'node_modules/\nlocal.secret\n');
  personGit(checkout, ['init', '-q', '--initial-branch=main']);
  personGit(checkout, ['add', '-A']);
  personGit(checkout, ['commit', '-qm', 'checkout']);
  fs.mkdirSync(path.join(checkout, 'node_modules', 'pkg'), { recursive: true });
  fs.writeFileSync(path.join(checkout, 'node_modules', 'pkg', 'index.js'), 'module.exports = "original";\n');
  fs.writeFileSync(path.join(checkout, 'local.secret'), `${w.canary}\n`);
}

describe('project self', () => {
  itBwrap(
    'reads the checkout’s packages but cannot change them, and sees nothing else of the checkout',
    async () => {
      makeCheckout();
      const checkout = w.checkout;
      const attack = [
        'cat node_modules/pkg/index.js',
        'echo tampered > node_modules/pkg/index.js; echo "write: $?"',
        'touch node_modules/planted; echo "create: $?"',
        'rm -rf node_modules/pkg; echo "remove: $?"',
        `cat ${checkout}/local.secret; ls -a ${checkout}`,
        `echo '[core] hooksPath = /tmp' >> ${checkout}/.git/config; echo "checkout git: $?"`,
        'git log --format=%s -1',
        'echo ATTACK-DONE',
      ].join('; ');
      w.openai.script([{ toolCalls: [{ name: 'bash', arguments: { command: attack } }] }, 'ATTACK OVER']);
      await w.start({ AGENT_SANDBOX: 'bwrap', AGENT_SELF: 'on', AGENT_APPROVAL: 'never' });
      await ask(w, '/project self', 'Switched to project self');
      await ask(w, 'build it', 'ATTACK OVER');
      const [output = ''] = lastToolResults(w);
      console.log(`a command in project self:\n${output}`);
      expect(output).toContain('module.exports = "original"');
      expect(output).toMatch(/write: [1-9]/);
      expect(output).toMatch(/create: [1-9]/);
      expect(output).toMatch(/remove: [1-9]/);
      expect(output).toMatch(/checkout git: [1-9]/);
      // the clone's own history, on its own branch: the work of the checkout's HEAD
      expect(output).toContain('checkout');
      expect(output).toContain('ATTACK-DONE');
      expect(output).not.toContain(w.canary);
      // nothing of the checkout changed
      expect(fs.readFileSync(path.join(checkout, 'node_modules', 'pkg', 'index.js'), 'utf8')).toBe(
        'module.exports = "original";\n',
      );
      expect(fs.existsSync(path.join(checkout, 'node_modules', 'planted'))).toBe(false);
      expect(fs.readFileSync(path.join(checkout, '.git', 'config'), 'utf8')).not.toContain('hooksPath');
      expect(w.leaks()).toBe('');
      // a clone of its own: no link back into the checkout, no remote, its branch `self`
      const self = w.project('self');
      expect(fs.lstatSync(path.join(self, '.git')).isDirectory()).toBe(true);
      expect(personGit(self, ['remote']).trim()).toBe('');
      expect(personGit(self, ['branch', '--show-current']).trim()).toBe('self');
    },
  );

  it('cannot be picked while AGENT_SELF is off', async () => {
    makeCheckout();
    await w.start({ AGENT_SELF: 'off' });
    await ask(w, '/project self', 'Project self (autonous’s own code) is off');
    expect(fs.existsSync(w.project('self'))).toBe(false);
  });

  it('cannot be picked from a chat whose id is not an approver', async () => {
    makeCheckout();
    await w.start({ AGENT_SELF: 'on', AGENT_APPROVERS: '999' });
    await ask(w, '/project self', 'Project self (autonous’s own code) may be picked only');
    expect(fs.existsSync(w.project('self'))).toBe(false);
  });
});
