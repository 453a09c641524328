// Applying a person's decision (a press, `/approve ID`, `/deny ID`): the approver check, the one
// transaction that decides, waking the parked run, and the card edited to show the decision.
// Every step is safe to repeat, so a press whose handling was cut short (a kill, a failed edit)
// is simply handled again: the second time the decision is `already`, and the card and the wake
// are brought to where they should be.

import type { ApprovalDecision } from '../../agent/approval-policy';
import type { ApprovalRecord } from '../../agent/journal';
import type { ApprovalDetail } from '../../queue/agent/approval-detail';
import type { ApprovalStore } from '../../queue/agent/approval-store';
import type { Store } from '../../queue/store';
import { describeError, type Logger } from '../../shared/log';
import { parseJsonOr } from '../../shared/parse-json';
import { EdgeError } from '../errors';
import type { TelegramClient } from '../telegram/client';
import { isApprover, NOT_AN_APPROVER } from './approvers';
import { renderDecidedCard } from './card';

/** What deciding needs. */
export interface DecisionDeps {
  readonly approvals: Pick<ApprovalStore, 'detail' | 'decide'>;
  readonly store: Pick<Store, 'unpark'>;
  readonly telegram: Pick<TelegramClient, 'editMessageText'>;
  readonly log: Logger;
  readonly now: () => number;
  /** AGENT_APPROVERS. */
  readonly approvers: readonly number[];
  /** Wakes the scheduler's idle loops (an item was unparked). */
  readonly wake: () => void;
}

/** One decision as it arrives. */
export interface DecisionInput {
  readonly approvalId: number;
  readonly decision: ApprovalDecision;
  /** The Telegram user who pressed or typed it. */
  readonly userId: number | null;
  /** The chat it arrived in: an approval is decided only in its own chat. */
  readonly chatId: number;
  /** The message pressed, when it was a press (edited too if it is not the recorded card). */
  readonly pressedMessageId?: number | null;
}

/** How it went: `text` is the sentence for the person (the toast of a press, the reply to a command). */
export interface DecisionReport {
  readonly outcome: 'not-approver' | 'unknown' | 'decided' | 'already' | 'expired';
  readonly text: string;
  /** Brings the card up to date (and is what may fail and be retried); a no-op when nothing changed. */
  readonly finish: () => Promise<void>;
}

const NOTHING = async (): Promise<void> => undefined;

function decisionWord(approval: ApprovalRecord): string {
  if (approval.status === 'allowed')
    return approval.scope === 'run' ? 'allowed for this run' : 'allowed once';
  if (approval.status === 'denied') return 'denied';
  return approval.status;
}

/**
 * Decides, and wakes the run at once (both in SQLite, before any Telegram call), and returns the
 * report with `finish` (the card's edit) for the caller to run after answering the press.
 */
export function decide(deps: DecisionDeps, input: DecisionInput): DecisionReport {
  if (!isApprover(deps.approvers, input.userId))
    return { outcome: 'not-approver', text: NOT_AN_APPROVER, finish: NOTHING };
  const before = deps.approvals.detail(input.approvalId);
  if (before === undefined || before.approval.chatId !== input.chatId) {
    return {
      outcome: 'unknown',
      text: `There is no approval #${input.approvalId} in this chat.`,
      finish: NOTHING,
    };
  }
  const result = deps.approvals.decide({
    approvalId: input.approvalId,
    decision: input.decision,
    decidedBy: input.userId as number,
    now: deps.now(),
  });
  if (result.outcome === 'unknown')
    return { outcome: 'unknown', text: `There is no approval #${input.approvalId}.`, finish: NOTHING };
  const detail: ApprovalDetail = { ...before, approval: result.approval };
  const id = input.approvalId;
  switch (result.outcome) {
    case 'decided':
      wakeRun(deps, detail);
      deps.log.info('approval decided', { approvalId: id, status: result.approval.status, by: input.userId });
      return {
        outcome: 'decided',
        text: `Approval #${id}: ${decisionWord(result.approval)}.`,
        finish: () => updateCard(deps, detail, input.pressedMessageId),
      };
    case 'expired':
      // expired by this very press, or by the sweeper whose edit may not have reached the card
      wakeRun(deps, detail);
      return {
        outcome: 'expired',
        text: `Approval #${id} expired: nobody decided in time, so it was denied.`,
        finish: () => updateCard(deps, detail, input.pressedMessageId),
      };
    case 'already':
      // the first decision stands; if this is the same press handled again, finish its work
      if (detail.otherPending === 0) wakeRun(deps, detail);
      return {
        outcome: 'already',
        text: `Approval #${id} was already decided: ${decisionWord(result.approval)}.`,
        finish: () => updateCard(deps, detail, input.pressedMessageId),
      };
  }
}

/** Unparks the run's message (when it is parked) and wakes the loops. */
export function wakeRun(
  deps: Pick<DecisionDeps, 'store' | 'now' | 'wake'>,
  detail: { inboxId: number | null },
): void {
  if (detail.inboxId !== null && deps.store.unpark(detail.inboxId, deps.now())) deps.wake();
}

/**
 * Edits the card (and the pressed message, if another) to show the decision, without buttons.
 * Telegram's "not modified" is success; a message that is gone or too old to edit is only logged;
 * a transient failure is thrown, so the press is handled again later.
 */
export async function updateCard(
  deps: Pick<DecisionDeps, 'telegram' | 'log'>,
  detail: ApprovalDetail,
  pressedMessageId?: number | null,
): Promise<void> {
  const { approval } = detail;
  const text = renderDecidedCard(approval, parseJsonOr(detail.arguments, undefined), detail.project);
  const targets = new Set<number>();
  if (approval.cardMessageId !== null) targets.add(approval.cardMessageId);
  if (pressedMessageId !== undefined && pressedMessageId !== null) targets.add(pressedMessageId);
  for (const messageId of targets) {
    try {
      await deps.telegram.editMessageText(approval.chatId, messageId, text);
    } catch (err) {
      if (err instanceof EdgeError && err.errorClass === 'transient') throw err;
      deps.log.warn('could not edit an approval card', {
        approvalId: approval.id,
        messageId,
        error: describeError(err),
      });
    }
  }
}
