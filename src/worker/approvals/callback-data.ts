// What an approval card's buttons send back: the approval's id and the decision, never the call
// itself, so it always fits Telegram's 64 bytes of callback_data. Pure.

import type { ApprovalDecision } from '../../agent/approval-policy';

/** A decoded press on an approval card. */
export interface ApprovalPress {
  readonly approvalId: number;
  readonly decision: ApprovalDecision;
}

const CODES: Readonly<Record<ApprovalDecision, string>> = { 'allow-once': 'o', 'allow-run': 'r', deny: 'd' };
const DECISIONS: Readonly<Record<string, ApprovalDecision>> = { o: 'allow-once', r: 'allow-run', d: 'deny' };
const PATTERN = /^ap:([1-9]\d{0,15}):([ord])$/;

/** `ap:<approvalId>:o|r|d` (at most 21 bytes). */
export function encodeApprovalData(press: ApprovalPress): string {
  if (!Number.isSafeInteger(press.approvalId) || press.approvalId < 1)
    throw new RangeError(`approval id ${press.approvalId} is not a positive integer`);
  return `ap:${press.approvalId}:${CODES[press.decision]}`;
}

/** The press a button's data stands for, or null when it is not an approval button. */
export function decodeApprovalData(data: string | null): ApprovalPress | null {
  const match = data === null ? null : PATTERN.exec(data);
  if (match === null || !Number.isSafeInteger(Number(match[1]))) return null;
  return { approvalId: Number(match[1]), decision: DECISIONS[match[2] as string] as ApprovalDecision };
}
