// The text of an approval card: what is asked (the command and its folder, the diff of a file
// change, the file to send), its buttons, and what it says once decided or expired. Pure.
//
// Plain text only (no parse mode): the command, the paths and the diff come from the model, and
// plain text cannot be broken by them. Whatever does not fit Telegram's message limit is cut
// here and attached whole as a document, so the person never approves what they could not see.

import type { ApprovalDecision } from '../../agent/approval-policy';
import type { ApprovalRecord } from '../../agent/journal';
import type { ChangedFiles } from '../../agent/loop';
import type { Risk } from '../../agent/tools/risk';
import { cut } from '../../shared/cut';
import { escapeHidden, hasHidden, holdsHidden } from '../../shared/escape-text';
import { redact } from '../../shared/redact';
import type { InlineKeyboard } from '../telegram/keyboards';
import { encodeApprovalData } from './callback-data';

/** Telegram's limit is 4096 characters; a margin for the counting of surrogate pairs. */
export const MAX_CARD_CHARS = 4000;
/** A command longer than this is cut in the card (and attached whole). */
export const MAX_COMMAND_CHARS = 1500;
/** What a decided card keeps of what was asked (its diff is not repeated). */
const MAX_SUMMARY_CHARS = 1200;

/** What a `write`/`edit` would change, as shown on its card. */
export interface FileChangeView {
  /** The unified diff against the file on disk, or null when none could be made (`note` says why). */
  readonly diff: string | null;
  readonly note?: string;
}

/** What a `send_file` would send. */
export interface FileView {
  /** Bytes, or null when the file cannot be read (`note` says why). */
  readonly size: number | null;
  readonly note?: string;
}

/** Everything an asking card shows. */
export interface AskCardFacts {
  readonly approvalId: number;
  readonly tool: string;
  readonly args: unknown;
  /** The project folder the call works in. */
  readonly folder: string;
  readonly risks: readonly Risk[];
  readonly change?: FileChangeView;
  readonly file?: FileView;
  /** The files the run changed unasked before this call: a command may run them. */
  readonly changed?: ChangedFiles;
  readonly expiresAt: number;
  readonly now: number;
}

/** A card and, when something had to be cut, the whole of it as a document. */
export interface RenderedCard {
  readonly text: string;
  readonly attachment: { readonly filename: string; readonly content: string } | null;
}

const RISK_TEXT: Readonly<Record<Risk, string>> = {
  unsandboxed:
    'Runs WITHOUT the sandbox: it can read and change anything the worker’s user can, and reach the network.',
  network: 'Asks for the network.',
  'mass-change': 'Looks like it deletes or overwrites files in bulk.',
};

/** The risk line of a call whose text holds characters that would show as something else or nothing. */
export const HIDDEN_CHARACTERS_TEXT =
  '⚠ Holds hidden or control characters (bidi, zero-width or terminal codes), shown escaped as \\u… or \\x…: it may not do what it seems to.';

/** Text from the model as a card shows it: no secret, every hidden character escaped. */
function shown(value: string): string {
  return escapeHidden(redact(value));
}

function shownChange(change: FileChangeView): FileChangeView {
  return {
    diff: change.diff === null ? null : shown(change.diff),
    ...(change.note !== undefined ? { note: shown(change.note) } : {}),
  };
}

function field(args: unknown, name: string): unknown {
  return typeof args === 'object' && args !== null ? (args as Record<string, unknown>)[name] : undefined;
}

function text(args: unknown, name: string): string {
  const value = field(args, name);
  return typeof value === 'string' ? shown(value) : '';
}

/** "2025-06-01 12:34 UTC". */
export function formatUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "45 s", "30 min", "2 h". */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/** How many changed files a card names; the rest are counted. */
const MAX_CHANGED_FILES = 20;

/** "Files changed since the last approval: Makefile, src/x.c". */
function changedLine(changed: ChangedFiles): string {
  const head =
    changed.since === 'last-approval'
      ? 'Files changed since the last approval'
      : 'Files this run changed so far';
  const named = changed.files.slice(0, MAX_CHANGED_FILES).map((f) => cut(shown(f), 200));
  const more = changed.files.length - named.length;
  return `${head}: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** The buttons of a card waiting for a decision. */
export function approvalKeyboard(approvalId: number): InlineKeyboard {
  const button = (label: string, decision: ApprovalDecision): { text: string; callbackData: string } => ({
    text: label,
    callbackData: encodeApprovalData({ approvalId, decision }),
  });
  return [
    [button('Allow once', 'allow-once'), button('Allow for this run', 'allow-run')],
    [button('Deny', 'deny')],
  ];
}

/** The first lines of a card: which call, where (a line), its risks; `commandMax` cuts a long command. */
function summaryLines(
  approvalId: number,
  tool: string,
  args: unknown,
  where: string,
  risks: readonly Risk[],
  commandMax: number,
): { lines: string[]; commandCut: boolean } {
  const head = `Approval #${approvalId}: ${tool}`;
  switch (tool) {
    case 'bash': {
      const command = text(args, 'command');
      const shown = cut(command, commandMax);
      const timeout = field(args, 'timeout_seconds');
      return {
        lines: [
          `${head} wants to run a command`,
          '',
          shown,
          '',
          where,
          ...(typeof timeout === 'number' ? [`Timeout: ${timeout} s`] : []),
          ...risks.map((r) => RISK_TEXT[r]),
        ],
        commandCut: shown !== command,
      };
    }
    case 'write':
      return { lines: [`${head} wants to write ${text(args, 'path')}`, where], commandCut: false };
    case 'edit':
      return { lines: [`${head} wants to edit ${text(args, 'path')}`, where], commandCut: false };
    case 'send_file': {
      const caption = text(args, 'caption');
      return {
        lines: [
          `${head} wants to send you ${text(args, 'path')}`,
          ...(caption !== '' ? [`Caption: ${cut(caption, 300)}`] : []),
          where,
        ],
        commandCut: false,
      };
    }
    default:
      return {
        lines: [`${head}`, cut(shown(JSON.stringify(args) ?? 'no arguments'), 1000), where],
        commandCut: false,
      };
  }
}

function basename(p: string): string {
  const name =
    p
      .split('/')
      .filter((s) => s !== '')
      .at(-1) ?? 'file';
  return name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60) || 'file';
}

/**
 * Cuts a diff at a line boundary to at most `budget` characters; returns the part shown and how
 * many lines were left out (0: it all fits).
 */
export function truncateDiff(diff: string, budget: number): { shown: string; omittedLines: number } {
  if (diff.length <= budget) return { shown: diff, omittedLines: 0 };
  const lines = diff.split('\n');
  let used = 0;
  let kept = 0;
  for (const line of lines) {
    if (used + line.length + 1 > budget) break;
    used += line.length + 1;
    kept++;
  }
  if (kept === 0) return { shown: cut(lines[0] ?? '', Math.max(1, budget)), omittedLines: lines.length - 1 };
  return { shown: lines.slice(0, kept).join('\n'), omittedLines: lines.length - kept };
}

/** The card that asks: what, the diff or file, when it expires; cut to fit, the whole attached. */
export function renderAskCard(facts: AskCardFacts): RenderedCard {
  const { lines, commandCut } = summaryLines(
    facts.approvalId,
    facts.tool,
    facts.args,
    `Folder: ${facts.folder}`,
    facts.risks,
    MAX_COMMAND_CHARS,
  );
  if (holdsHidden(facts.args) || hasHidden(facts.change?.diff ?? ''))
    lines.splice(1, 0, HIDDEN_CHARACTERS_TEXT);
  const footer = [
    '',
    `Nobody deciding within ${formatSpan(facts.expiresAt - facts.now)} (by ${formatUtc(facts.expiresAt)}) denies it.`,
  ];
  if (facts.file !== undefined) {
    lines.push(facts.file.size !== null ? `Size: ${facts.file.size} bytes` : (facts.file.note ?? ''));
  }
  if (facts.changed !== undefined && facts.changed.files.length > 0)
    lines.push('', changedLine(facts.changed));
  let attachment: RenderedCard['attachment'] = null;
  if (commandCut) {
    lines.push(
      `(The command is cut here: all ${text(facts.args, 'command').length} characters are attached.)`,
    );
    attachment = {
      filename: `approval-${facts.approvalId}-command.sh`,
      content: text(facts.args, 'command'),
    };
  }
  const change = facts.change === undefined ? undefined : shownChange(facts.change);
  if (change !== undefined) {
    if (change.diff === null) lines.push('', change.note ?? 'No diff could be made.');
    else if (change.diff === '') lines.push('', 'The file would not change.');
    else {
      const note = (omitted: number): string =>
        `… ${omitted} more line${omitted === 1 ? '' : 's'}: the whole diff is attached.`;
      const fixed = [...lines, '', ...footer, note(999_999)].join('\n').length + 2;
      const { shown, omittedLines } = truncateDiff(change.diff, MAX_CARD_CHARS - fixed);
      lines.push('', shown);
      if (omittedLines > 0) {
        lines.push(note(omittedLines));
        attachment = { filename: `${basename(text(facts.args, 'path'))}.diff`, content: change.diff };
      }
    }
  }
  return { text: cut([...lines, ...footer].join('\n'), MAX_CARD_CHARS), attachment };
}

/** The line that replaces the buttons once the approval is decided or expired. */
export function decisionLine(approval: ApprovalRecord): string {
  const at = approval.decidedAt ?? approval.expiresAt;
  const by = approval.decidedBy === null ? '' : ` by user ${approval.decidedBy}`;
  switch (approval.status) {
    case 'allowed':
      return approval.scope === 'run'
        ? `✅ Allowed for this run${by} at ${formatUtc(at)} (identical calls in this run run without asking until a file changes unasked).`
        : `✅ Allowed once${by} at ${formatUtc(at)}.`;
    case 'denied':
      return `❌ Denied${by} at ${formatUtc(at)}. Nothing was run.`;
    case 'expired':
      return `⌛ Expired at ${formatUtc(at)}: nobody decided within ${formatSpan(approval.expiresAt - approval.askedAt)}, so it was denied. Nothing was run.`;
    case 'pending':
      return 'Waiting for a decision.';
  }
}

/** A decided (or expired) card: what was asked, in short, in which project, and the decision; no buttons. */
export function renderDecidedCard(approval: ApprovalRecord, args: unknown, project: string): string {
  const { lines } = summaryLines(
    approval.id,
    approval.tool,
    args,
    `Project: ${project}`,
    [],
    MAX_SUMMARY_CHARS,
  );
  if (holdsHidden(args)) lines.splice(1, 0, HIDDEN_CHARACTERS_TEXT);
  return cut([...lines, '', decisionLine(approval)].join('\n'), MAX_CARD_CHARS);
}
