/** The outcome of one doctor check. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One line of `doctor`: what was checked, what was found, and the fix when it is not ok. */
export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  readonly fix: string | null;
}

/** A passed check. */
export const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail, fix: null });
/** A failed check with its fix. */
export const fail = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: 'fail',
  detail,
  fix,
});
/** Works, but not as it should. */
export const warn = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: 'warn',
  detail,
  fix,
});
/** Not run, because an earlier check failed. */
export const skip = (name: string, detail: string): CheckResult => ({
  name,
  status: 'skip',
  detail,
  fix: null,
});

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
