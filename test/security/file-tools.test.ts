import fs from 'node:fs';
import path from 'node:path';
import { BWRAP_WORKS } from '../helpers/temp-dir';
import { ask, bwrapOr, lastToolResults, useSecurityWorld } from '../helpers/security-world';

// The worker's file tools run in the worker, outside any sandbox: a symlink in the project must
// not lead them to the env file. With bwrap, bash plants the link; without it, the link is
// already in the project (a cloned repository may hold one), so no approval is involved.

jest.setTimeout(60_000);
const w = useSecurityWorld();
const BWRAP = bwrapOr('bwrap does not sandbox on this machine (BWRAP_WORKS is false)', BWRAP_WORKS);
const MODES: readonly ('bwrap' | 'off')[] = BWRAP ? ['bwrap', 'off'] : ['off'];

describe.each(MODES)(
  'grep does not follow a symlinked file out of the project (AGENT_SANDBOX=%s)',
  (mode) => {
    it('a link to the env file named notes.txt: grep "." shows no secret', async () => {
      const searches = [
        { name: 'grep', arguments: { pattern: '.' } },
        { name: 'grep', arguments: { pattern: 'TOKEN|KEY|CANARY', path: '.' } },
        { name: 'grep', arguments: { pattern: '.', glob: '*.txt' } },
      ];
      if (mode === 'bwrap') {
        w.openai.script([
          {
            toolCalls: [
              { name: 'bash', arguments: { command: `ln -s ${w.envFile} notes.txt; echo LINKED=$?` } },
            ],
          },
          { toolCalls: searches },
          'ATTACK OVER',
        ]);
      } else {
        fs.symlinkSync(w.envFile, path.join(w.project('default', true), 'notes.txt'));
        w.openai.script([{ toolCalls: searches }, 'ATTACK OVER']);
      }
      await w.start({ AGENT_SANDBOX: mode });
      await ask(w, 'what do my notes say?', 'ATTACK OVER');
      await w.settled();
      const results = lastToolResults(w).slice(-searches.length);
      console.log(`grep through a link (${mode}):\n${results.join('\n---\n')}`);
      expect(fs.lstatSync(path.join(w.project(), 'notes.txt')).isSymbolicLink()).toBe(true);
      for (const result of results) {
        for (const secret of [w.token, w.apiKey, w.canary]) expect(result).not.toContain(secret);
        expect(result).not.toMatch(/TELEGRAM_BOT_TOKEN|OPENAI_API_KEY|AUTONOUS_SEC_CANARY/);
      }
      expect(w.leaks()).toBe('');
    });
  },
);
