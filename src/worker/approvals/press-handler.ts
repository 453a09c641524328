// The control lane's handler of button presses (`callback_query` items). The press is answered
// at once (so the client stops its spinner) with what it did, then the card is edited.

import type { InboxRow } from '../../queue/row';
import { describeError } from '../../shared/log';
import type { Handler, Outcome } from '../handlers/handler';
import type { TelegramClient } from '../telegram/client';
import { isTelegramFailure } from '../telegram/failures';
import { decodeApprovalData } from './callback-data';
import { decide, type DecisionDeps } from './decision';

/** What the press handler needs: deciding, and answering presses. */
export interface PressDeps extends DecisionDeps {
  readonly telegram: Pick<TelegramClient, 'editMessageText' | 'answerCallbackQuery'>;
}

/** The answer to a press on a button that is not (or no longer) an approval's. */
export const UNKNOWN_BUTTON = 'This button does nothing now.';

/** Handles a press: decides the approval it names, answers the press, edits the card. */
export class ApprovalPressHandler implements Handler {
  constructor(private readonly deps: PressDeps) {}

  /** One press. */
  async handle(item: InboxRow, signal: AbortSignal): Promise<Outcome> {
    const press = decodeApprovalData(item.text);
    if (press === null || item.chatId === null) {
      await this.answer(item, UNKNOWN_BUTTON, signal);
      return { kind: 'skipped', reason: 'not an approval button' };
    }
    const report = decide(this.deps, {
      approvalId: press.approvalId,
      decision: press.decision,
      userId: item.fromId,
      chatId: item.chatId,
      pressedMessageId: item.messageId,
    });
    await this.answer(item, report.text, signal);
    await report.finish();
    this.deps.log.info('button press handled', {
      id: item.id,
      approvalId: press.approvalId,
      outcome: report.outcome,
    });
    return report.outcome === 'not-approver'
      ? { kind: 'skipped', reason: 'pressed by someone who is not an approver' }
      : { kind: 'done' };
  }

  /** Answers the press; one answered already or too late is fine, other failures only logged. */
  private async answer(item: InboxRow, text: string, signal: AbortSignal): Promise<void> {
    if (item.callbackId === null) return;
    try {
      await this.deps.telegram.answerCallbackQuery(item.callbackId, text, false, signal);
    } catch (err) {
      if (isTelegramFailure(err, 'query_too_old')) return;
      // the spinner stops by itself; the decision and the card matter more than the toast
      this.deps.log.warn('could not answer a button press', { id: item.id, error: describeError(err) });
    }
  }
}
