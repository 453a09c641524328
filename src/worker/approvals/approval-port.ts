// The agent loop's approval port: sends the card for a call that needs a person's decision and
// records its message id. The loop parks the run once this returns; the press comes back through
// the inbox (press-handler.ts).

import type { ApprovalPort, ApprovalRequest } from '../../agent/loop';
import type { ApprovalStore } from '../../queue/agent/approval-store';
import { describeError, type Logger } from '../../shared/log';
import type { TelegramClient } from '../telegram/client';
import { approvalKeyboard, renderAskCard, type AskCardFacts } from './card';
import { describeFileChange, describeFileToSend } from './file-change';

/** What the port needs: one run's project and sandbox, and where cards go. */
export interface ApprovalPortDeps {
  readonly approvals: Pick<ApprovalStore, 'setCard'>;
  readonly telegram: Pick<TelegramClient, 'sendMessage' | 'sendDocument'>;
  readonly log: Logger;
  readonly now: () => number;
  /** The run's project folder (real path). */
  readonly root: string;
  /** The person's message the run answers: the card replies to it. */
  readonly replyTo?: number | null;
  /** A new approval waits: the expiry sweeper looks at its expiry (ApprovalSweeper.poke). */
  readonly onAsked?: () => void;
}

/** The card's facts for one request (reads the file on disk for a change or a file to send). */
export async function cardFacts(root: string, request: ApprovalRequest, now: number): Promise<AskCardFacts> {
  const { approval, call } = request;
  const base = {
    approvalId: approval.id,
    tool: call.name,
    args: call.args,
    folder: root,
    risks: request.risks,
    changed: request.changed,
    expiresAt: approval.expiresAt,
    now,
  };
  if (request.kind === 'change')
    return { ...base, change: await describeFileChange(root, call.name, call.args) };
  if (request.kind === 'send') return { ...base, file: await describeFileToSend(root, call.args) };
  return base;
}

/**
 * The port: renders the card, sends it with the buttons Allow once / Allow for this run / Deny,
 * records its message id, then attaches what did not fit. A failed send throws: the loop then
 * suspends the run, the worker retries the message, and the resumed run sends the card again
 * (it is recorded as not sent).
 */
export function createApprovalPort(deps: ApprovalPortDeps): ApprovalPort {
  return async (request) => {
    const { approval } = request;
    const card = renderAskCard(await cardFacts(deps.root, request, deps.now()));
    const messageId = await deps.telegram.sendMessage(approval.chatId, card.text, {
      html: false,
      replyTo: deps.replyTo ?? null,
      keyboard: approvalKeyboard(approval.id),
    });
    deps.approvals.setCard(approval.id, messageId);
    deps.onAsked?.();
    deps.log.info('approval asked', { approvalId: approval.id, runId: approval.runId, tool: approval.tool });
    if (card.attachment !== null) {
      try {
        await deps.telegram.sendDocument(
          approval.chatId,
          { buffer: Buffer.from(card.attachment.content, 'utf8'), filename: card.attachment.filename },
          `The whole of approval #${approval.id}`,
          messageId,
        );
      } catch (err) {
        // the card stands without it (it says what is cut); the decision does not depend on it
        deps.log.warn('could not attach the whole diff to an approval card', {
          approvalId: approval.id,
          error: describeError(err),
        });
      }
    }
  };
}
