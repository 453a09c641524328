import fs from 'node:fs';
import path from 'node:path';
import { BWRAP_WORKS } from '../helpers/temp-dir';
import { waitUntil } from '../helpers/wait-until';
import {
  ask,
  bwrapOr,
  CHAT,
  decideCards,
  filesBelow,
  gitObjects,
  gitsIn,
  lastToolResults,
  sleepers,
  useSecurityWorld,
  type SecurityWorld,
} from '../helpers/security-world';

// Attacks on the worker's own git (the checkpoint before a run and the commit after it): a
// repository's config written by the agent must lead it neither out of the project (a filter
// driver, core.worktree) nor into waiting forever. With bwrap, bash should not even be able to
// write .git/config; without bwrap a person allowed the command, and the worker's git must still
// not obey what it planted.

jest.setTimeout(60_000);
const w = useSecurityWorld();
const BWRAP = bwrapOr('bwrap does not sandbox on this machine (BWRAP_WORKS is false)', BWRAP_WORKS);
const MODES: readonly ('bwrap' | 'off')[] = BWRAP ? ['bwrap', 'off'] : ['off'];

/** How long a run whose commit hangs may take to answer: the worker must bound its git. */
const BOUNDED_ANSWER_MS = 110_000;
/**
 * A shorter limit for the worker's git, for a worker that reads this variable (unknown ones are
 * ignored): the suite then waits seconds, not the default minute, for a bounded git.
 */
const GIT_TIMEOUT_HINT = { AGENT_GIT_TIMEOUT_SECONDS: '10' };
/** A line of the answer saying the run's commit was not made (the wording is the worker's). */
const COMMIT_SKIPPED = /not committed|commit[^\n]*(skipped|failed|stopped|timed out)|skipped[^\n]*commit/i;

/** One run: `command` in bash (allowed when a card asks), then the answer "ATTACK OVER". */
async function plant(
  world: SecurityWorld,
  mode: 'bwrap' | 'off',
  command: string,
  answerWithinMs = 30_000,
  extra: Record<string, string> = {},
): Promise<string> {
  decideCards(world, () => 'Allow once');
  world.openai.script([{ toolCalls: [{ name: 'bash', arguments: { command } }] }, 'ATTACK OVER']);
  await world.start({ AGENT_SANDBOX: mode, ...extra });
  const answer = await ask(world, 'tidy up the project', 'ATTACK OVER', answerWithinMs);
  return answer.text;
}

/** What the project holds (its files and every object of its repository) that it must not. */
function projectLeaks(world: SecurityWorld): string[] {
  const found: string[] = [];
  const objects = gitObjects(world.project());
  const files = filesBelow(world.project());
  const look: [string, string][] = [
    [world.token, 'the bot token'],
    [world.apiKey, 'the API key'],
    [world.canary, "the env file's canary"],
    ['SQLite format 3', 'a database file'],
    ['agent.db', 'the state folder'],
  ];
  for (const [needle, what] of look) {
    if (objects.includes(needle)) found.push(`the repository's objects hold ${what}`);
    for (const file of files) if (file.content.includes(needle)) found.push(`${file.path} holds ${what}`);
  }
  return found;
}

describe.each(MODES)(
  "the worker's git cannot be led out by the repository's config (AGENT_SANDBOX=%s)",
  (mode) => {
    it('a clean filter planted by bash neither runs nor copies the env file into the commit', async () => {
      const marker = path.join(w.outside, 'filter-ran');
      const answer = await plant(
        w,
        mode,
        [
          `git config filter.x.clean "cat ${w.envFile} >&2; touch ${marker}; cat ${w.envFile}; cat"; echo CONFIG=$?`,
          "echo '* filter=x' > .gitattributes",
          'echo hello > hello.txt',
        ].join('\n'),
      );
      await w.settled();
      console.log(`filter attack (${mode}): the answer was ${JSON.stringify(answer)}`);
      expect(fs.existsSync(marker)).toBe(false);
      expect(projectLeaks(w)).toEqual([]);
      expect(w.leaks()).toBe('');
    });

    it('core.worktree pointed at the state folder does not put the state folder in the commit', async () => {
      const answer = await plant(
        w,
        mode,
        [`git config core.worktree ${w.stateDir}; echo CONFIG=$?`, 'echo hello > hello.txt'].join('\n'),
      );
      await w.settled();
      console.log(`core.worktree attack (${mode}): the answer was ${JSON.stringify(answer)}`);
      expect(projectLeaks(w)).toEqual([]);
      expect(fs.readdirSync(w.outside)).toEqual([]);
      expect(w.leaks()).toBe('');
    });
  },
);

describe.each(MODES)("the worker's git is bounded in time (AGENT_SANDBOX=%s)", (mode) => {
  it(
    'a clean filter that sleeps 1000 s: the run still answers, saying what became of its commit, and no filter is left running',
    async () => {
      const sleeper = `1000.${Math.floor(100_000 + Math.random() * 800_000)}`;
      w.killWhenDone(sleeper);
      const started = Date.now();
      const answer = await plant(
        w,
        mode,
        [
          `git config filter.slow.clean "sleep ${sleeper}"; echo CONFIG=$?`,
          "echo '* filter=slow' > .gitattributes",
          'echo slow > slow.txt',
        ].join('\n'),
        BOUNDED_ANSWER_MS,
        GIT_TIMEOUT_HINT,
      );
      console.log(
        `slow filter (${mode}): answered after ${Date.now() - started} ms: ${JSON.stringify(answer)}`,
      );
      // the filter either never ran (the commit went through) or was cut short (the commit skipped)
      expect(answer).toMatch(new RegExp(`Committed|${COMMIT_SKIPPED.source}`, 'i'));
      await w.settled();
      await waitUntil(
        () => sleepers(sleeper).length === 0,
        10_000,
        () => `the filter still runs: ${sleepers(sleeper).join(', ')}`,
      );
    },
    BOUNDED_ANSWER_MS + 40_000,
  );

  it(
    'a 1 TB sparse file that git would hash for hours: the run answers within the bound, saying the commit was skipped',
    async () => {
      w.killWhenDone();
      const started = Date.now();
      const answer = await plant(
        w,
        mode,
        'truncate -s 1T big.bin && echo SPARSE-OK',
        BOUNDED_ANSWER_MS,
        GIT_TIMEOUT_HINT,
      );
      console.log(
        `sparse file (${mode}): answered after ${Date.now() - started} ms: ${JSON.stringify(answer)}`,
      );
      expect(lastToolResults(w).join('\n')).toContain('SPARSE-OK');
      expect(answer).toMatch(COMMIT_SKIPPED);
      await w.settled();
      await waitUntil(
        () => gitsIn(w.project()).length === 0,
        10_000,
        () => `git still runs in the project: ${JSON.stringify(gitsIn(w.project()))}`,
      );
    },
    BOUNDED_ANSWER_MS + 40_000,
  );
});

describe('/stop ends a run whose commit hangs', () => {
  it('/stop while the worker hashes a 1 TB sparse file: the message settles and git is killed', async () => {
    w.killWhenDone();
    decideCards(w, () => 'Allow once');
    w.openai.script([
      { toolCalls: [{ name: 'bash', arguments: { command: 'truncate -s 1T big.bin' } }] },
      'ATTACK OVER',
    ]);
    // the default time limit of git (if any) is far longer than what /stop is given here
    await w.start({ AGENT_SANDBOX: MODES[0] });
    w.telegram.pushMessage(CHAT, 'make a big file');
    await waitUntil(
      () => gitsIn(w.project()).some((g) => g.args.includes('add')),
      30_000,
      () => 'the worker committing the big file',
    );
    const stopped = Date.now();
    w.telegram.pushMessage(CHAT, '/stop');
    await w.settled(15_000);
    await waitUntil(
      () => gitsIn(w.project()).length === 0,
      10_000,
      () => `git still runs after /stop: ${JSON.stringify(gitsIn(w.project()))}`,
    );
    console.log(`/stop during the commit: settled and git gone ${Date.now() - stopped} ms after /stop`);
  }, 90_000);
});
