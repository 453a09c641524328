// Who may decide an approval (AGENT_APPROVERS). Pure.

/** Whether the Telegram user `userId` may decide approvals; a press without a user may not. */
export function isApprover(approvers: readonly number[], userId: number | null): boolean {
  return userId !== null && approvers.includes(userId);
}

/** The answer to a press or `/approve` from someone else. */
export const NOT_AN_APPROVER = 'Not yours to approve: only the approvers (AGENT_APPROVERS) decide.';
