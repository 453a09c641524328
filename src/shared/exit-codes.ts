/** Exit codes shared by the processes and the ecosystem file. */
export const EXIT = {
  ok: 0,
  /** Any unexpected crash. */
  crash: 1,
  /** `WORKER_SUICIDE_EVERY`: a deliberate exit of the crash-test mode, never a crash loop. */
  suicide: 75,
  /** Bad or missing configuration (sysexits EX_CONFIG); listed in PM2's `stop_exit_codes`. */
  config: 78,
} as const;
