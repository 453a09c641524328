// How the CLI ends: 0 success, 1 failure, 2 usage error. Errors carry their exit code and a
// sentence that says what happened and what to do; main prints the sentence and nothing else.

export const CLI_EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** The command could not do what was asked (unknown id, no database, a failed check). */
export class CliError extends Error {
  readonly exitCode: number = CLI_EXIT.failure;
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** The command line itself is wrong (a bad option value, conflicting options). */
export class UsageError extends Error {
  readonly exitCode: number = CLI_EXIT.usage;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
