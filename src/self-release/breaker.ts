// The circuit breaker of self-release: two self-made releases rolled back in a row turn it off
// until an approver turns it on again (`/release on`). Pure.
import type Database from 'better-sqlite3';
import type { SelfReleaseStatus } from '../db/schema';
import { getKv, KV } from '../queue/kv';
import { selfReleaseOutcomes } from '../queue/self-releases';

/** How many rollbacks in a row turn self-release off. */
export const ROLLBACKS_TO_TRIP = 2;

/** Whether self-release is off, and why (a sentence), from the outcomes newest first. */
export function selfReleaseBreaker(
  outcomes: readonly { readonly id: number; readonly status: SelfReleaseStatus }[],
  onAfter: number,
): { readonly off: false } | { readonly off: true; readonly reason: string } {
  const counted = outcomes.filter((o) => o.id > onAfter).slice(0, ROLLBACKS_TO_TRIP);
  if (counted.length < ROLLBACKS_TO_TRIP || counted.some((o) => o.status !== 'rolled_back'))
    return { off: false };
  const ids = counted.map((o) => `#${o.id}`).reverse();
  return {
    off: true,
    reason: `self-release is off: the last ${ROLLBACKS_TO_TRIP} self-releases (${ids.join(', ')}) were rolled back in a row; an approver turns it on again with /release on`,
  };
}

/** Whether self-release is off after rollbacks, and why, as recorded in the database. */
export function breakerState(sqlite: Database.Database): ReturnType<typeof selfReleaseBreaker> {
  return selfReleaseBreaker(selfReleaseOutcomes(sqlite), Number(getKv(sqlite, KV.selfReleaseOnAfter) ?? 0));
}
