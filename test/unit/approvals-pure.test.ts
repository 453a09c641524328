import type { ApprovalRecord } from '../../src/agent/journal';
import { isApprover } from '../../src/worker/approvals/approvers';
import { decodeApprovalData, encodeApprovalData } from '../../src/worker/approvals/callback-data';
import {
  approvalKeyboard,
  decisionLine,
  MAX_CARD_CHARS,
  renderAskCard,
  renderDecidedCard,
  truncateDiff,
  type AskCardFacts,
} from '../../src/worker/approvals/card';
import { parseDecisionArgs } from '../../src/worker/approvals/chat-commands';
import { nextSweepDelay } from '../../src/worker/approvals/expiry-wake';
import { projectChoiceError } from '../../src/worker/approvals/projects';
import { commitNote } from '../../src/worker/approvals/run-commit';
import { commandLane } from '../../src/worker/classify-update';
import { CALLBACK_DATA_LIMIT_BYTES } from '../../src/worker/telegram/keyboards';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);

function approval(fields: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id: 7,
    runId: 3,
    stepId: 11,
    toolCallId: 'call_1',
    tool: 'bash',
    callHash: 'h',
    status: 'pending',
    scope: null,
    chatId: 101,
    cardMessageId: 5,
    askedAt: NOW,
    expiresAt: NOW + 1800_000,
    decidedAt: null,
    decidedBy: null,
    ...fields,
  };
}

function facts(fields: Partial<AskCardFacts> = {}): AskCardFacts {
  return {
    approvalId: 7,
    tool: 'bash',
    args: { command: 'npm test' },
    folder: '/srv/ws/default',
    risks: ['unsandboxed'],
    expiresAt: NOW + 1800_000,
    now: NOW,
    ...fields,
  };
}

describe('approval button data', () => {
  it('round-trips every decision and stays within 64 bytes for the largest id', () => {
    for (const decision of ['allow-once', 'allow-run', 'deny'] as const) {
      const data = encodeApprovalData({ approvalId: Number.MAX_SAFE_INTEGER, decision });
      expect(Buffer.byteLength(data, 'utf8')).toBeLessThanOrEqual(CALLBACK_DATA_LIMIT_BYTES);
      expect(decodeApprovalData(data)).toEqual({ approvalId: Number.MAX_SAFE_INTEGER, decision });
    }
    expect(encodeApprovalData({ approvalId: 12, decision: 'allow-run' })).toBe('ap:12:r');
  });

  it('refuses data that is not an approval button', () => {
    for (const data of [
      null,
      '',
      'ap:0:o',
      'ap:12:x',
      'ap:12:o:extra',
      'xx:12:o',
      'ap:-1:d',
      'ap:1e3:o',
      'ap:9999999999999999:o',
    ])
      expect(decodeApprovalData(data)).toBeNull();
  });

  it('refuses to encode an id that is not a positive integer', () => {
    expect(() => encodeApprovalData({ approvalId: 0, decision: 'deny' })).toThrow(RangeError);
    expect(() => encodeApprovalData({ approvalId: 1.5, decision: 'deny' })).toThrow(RangeError);
  });

  it('puts three buttons on a card: Allow once, Allow for this run, Deny', () => {
    const buttons = approvalKeyboard(7).flat();
    expect(buttons.map((b) => b.text)).toEqual(['Allow once', 'Allow for this run', 'Deny']);
    expect(buttons.map((b) => ('callbackData' in b ? b.callbackData : ''))).toEqual([
      'ap:7:o',
      'ap:7:r',
      'ap:7:d',
    ]);
  });
});

describe('approvers', () => {
  it('lets only listed users decide, and never a press without a user', () => {
    expect(isApprover([101, 102], 101)).toBe(true);
    expect(isApprover([101, 102], 103)).toBe(false);
    expect(isApprover([101], null)).toBe(false);
    expect(isApprover([], 101)).toBe(false);
  });
});

describe('approval cards', () => {
  it('shows a bash command, its folder, the risk and the expiry', () => {
    const card = renderAskCard(facts());
    expect(card.text).toContain('Approval #7: bash wants to run a command');
    expect(card.text).toContain('\nnpm test\n');
    expect(card.text).toContain('Folder: /srv/ws/default');
    expect(card.text).toContain('WITHOUT the sandbox');
    expect(card.text).toContain('30 min (by 2025-06-01 12:30 UTC)');
    expect(card.attachment).toBeNull();
  });

  it('keeps model text as it is (plain text: nothing to escape, nothing to break)', () => {
    const card = renderAskCard(facts({ args: { command: 'echo "<b>x</b>" && cat *_a_* `id`' }, risks: [] }));
    expect(card.text).toContain('echo "<b>x</b>" && cat *_a_* `id`');
  });

  it('cuts a huge command and attaches it whole', () => {
    const command = `echo ${'x'.repeat(10_000)}`;
    const card = renderAskCard(facts({ args: { command } }));
    expect(card.text.length).toBeLessThanOrEqual(MAX_CARD_CHARS);
    expect(card.text).toContain('The command is cut here');
    expect(card.attachment).toEqual({ filename: 'approval-7-command.sh', content: command });
  });

  it('shows a small diff whole, without an attachment', () => {
    const diff = '--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-old\n+new\n';
    const card = renderAskCard(facts({ tool: 'edit', args: { path: 'x.txt' }, risks: [], change: { diff } }));
    expect(card.text).toContain('wants to edit x.txt');
    expect(card.text).toContain(diff.trimEnd());
    expect(card.attachment).toBeNull();
  });

  it('truncates a long diff at a line to fit 4096 and attaches the whole diff', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `+line ${i} ${'y'.repeat(20)}`);
    const diff = `--- /dev/null\n+++ b/src/big file.ts\n@@ -0,0 +1,2000 @@\n${lines.join('\n')}\n`;
    const card = renderAskCard(
      facts({ tool: 'write', args: { path: 'src/big file.ts' }, risks: [], change: { diff } }),
    );
    expect(card.text.length).toBeLessThanOrEqual(MAX_CARD_CHARS);
    expect(card.text.length).toBeGreaterThan(MAX_CARD_CHARS - 200);
    expect(card.text).toMatch(/… \d+ more lines: the whole diff is attached\./);
    expect(card.attachment).toEqual({ filename: 'big_file.ts.diff', content: diff });
    // every shown diff line is a whole line of the diff
    const shown = card.text.split('\n').filter((l) => l.startsWith('+line'));
    for (const line of shown) expect(lines).toContain(line);
  });

  it('lists the files the run changed since its last approval, or since it began', () => {
    const since = renderAskCard(
      facts({ changed: { since: 'last-approval', files: ['Makefile', 'src/x.c'] } }),
    );
    expect(since.text).toContain('\nFiles changed since the last approval: Makefile, src/x.c\n');
    const first = renderAskCard(facts({ changed: { since: 'run-start', files: ['Makefile'] } }));
    expect(first.text).toContain('\nFiles this run changed so far: Makefile\n');
    for (const changed of [undefined, { since: 'last-approval', files: [] } as const])
      expect(renderAskCard(facts({ changed })).text).not.toContain('Files ');
  });

  it('names at most 20 changed files and counts the rest', () => {
    const files = Array.from({ length: 25 }, (_, i) => `f${i}.c`);
    const card = renderAskCard(facts({ changed: { since: 'last-approval', files } }));
    expect(card.text).toContain(`: ${files.slice(0, 20).join(', ')} and 5 more\n`);
  });

  it('says why there is no diff when the edit would fail', () => {
    const card = renderAskCard(
      facts({
        tool: 'edit',
        args: { path: 'a' },
        risks: [],
        change: { diff: null, note: 'old_text matches 0 times' },
      }),
    );
    expect(card.text).toContain('old_text matches 0 times');
  });

  it('shows who decided and when once decided, and the expiry once expired', () => {
    const at = NOW + 60_000;
    expect(decisionLine(approval({ status: 'allowed', scope: 'once', decidedBy: 101, decidedAt: at }))).toBe(
      '✅ Allowed once by user 101 at 2025-06-01 12:01 UTC.',
    );
    expect(
      decisionLine(approval({ status: 'allowed', scope: 'run', decidedBy: 101, decidedAt: at })),
    ).toContain('Allowed for this run by user 101');
    expect(decisionLine(approval({ status: 'denied', decidedBy: 102, decidedAt: at }))).toBe(
      '❌ Denied by user 102 at 2025-06-01 12:01 UTC. Nothing was run.',
    );
    expect(decisionLine(approval({ status: 'expired', decidedAt: NOW + 1800_000 }))).toContain(
      'Expired at 2025-06-01 12:30 UTC: nobody decided within 30 min',
    );
    const card = renderDecidedCard(
      approval({ status: 'denied', decidedBy: 102, decidedAt: at }),
      { command: 'ls' },
      'a',
    );
    expect(card).toContain('Project: a');
    expect(card).toContain('\nls\n');
  });

  it('cuts a diff at line boundaries, or inside the first line when even that does not fit', () => {
    expect(truncateDiff('a\nb\nc', 100)).toEqual({ shown: 'a\nb\nc', omittedLines: 0 });
    expect(truncateDiff('aa\nbb\ncc', 6)).toEqual({ shown: 'aa\nbb', omittedLines: 1 });
    expect(truncateDiff('abcdef\ng', 4)).toEqual({ shown: 'abc…', omittedLines: 1 });
  });
});

describe('the expiry sweeper wake-up', () => {
  it('wakes at the next expiry, at once when it is past, and never later than the recheck', () => {
    expect(nextSweepDelay(NOW + 5000, NOW, 60_000)).toBe(5000);
    expect(nextSweepDelay(NOW - 5000, NOW, 60_000)).toBe(0);
    expect(nextSweepDelay(NOW + 600_000, NOW, 60_000)).toBe(60_000);
    expect(nextSweepDelay(undefined, NOW, 60_000)).toBe(60_000);
  });
});

describe('the commands of approvals and projects', () => {
  it('parses /approve ID [once|run] and /deny ID', () => {
    expect(parseDecisionArgs('approve', '12')).toEqual({ approvalId: 12, decision: 'allow-once' });
    expect(parseDecisionArgs('approve', '#12 run')).toEqual({ approvalId: 12, decision: 'allow-run' });
    expect(parseDecisionArgs('approve', '12 once')).toEqual({ approvalId: 12, decision: 'allow-once' });
    expect(parseDecisionArgs('deny', '12')).toEqual({ approvalId: 12, decision: 'deny' });
    for (const args of ['', 'x', '12 forever', '0', '-3'])
      expect(parseDecisionArgs('approve', args)).toBeNull();
    expect(parseDecisionArgs('deny', '12 run')).toBeNull();
  });

  it('puts /undo in the answer lane and every other command in the control lane', () => {
    expect(commandLane('/undo')).toBe('answer');
    expect(commandLane('/UNDO@my_bot')).toBe('answer');
    for (const text of ['/diff', '/project a', '/approve 1', '/stop', '/undone'])
      expect(commandLane(text)).toBe('control');
  });

  it('refuses project names outside [a-z0-9-]{1,40} and paths, with a sentence', () => {
    expect(projectChoiceError('site-2')).toBeNull();
    expect(projectChoiceError('/etc')).toContain('AGENT_PROJECTS');
    expect(projectChoiceError('../x')).toContain('looks like a path');
    expect(projectChoiceError('Big')).toContain('lowercase');
    expect(projectChoiceError('a'.repeat(41))).toContain('1 to 40');
  });

  it('tells the person about the run commit, and about their edits it had to include', () => {
    expect(commitNote(null)).toBeNull();
    expect(commitNote({ commit: 'abcdef0123', files: ['a', 'b'], includedPersonEdits: [] })).toBe(
      "Committed the run's changes (2 files) as abcdef01: /diff shows them, /undo reverts them.",
    );
    expect(commitNote({ commit: 'abcdef0123', files: ['a'], includedPersonEdits: ['a'] })).toContain(
      'Your own uncommitted edits in a',
    );
  });
});
