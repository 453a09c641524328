import { EXIT } from './exit-codes';
import { describeError, type Logger } from './log';

/**
 * Makes an unexpected error end the process with one redacted log line and exit code 1, instead
 * of Node's default stack dump (which could print a URL holding the bot token). PM2 restarts it.
 */
export function exitOnUnexpectedErrors(log: Logger): void {
  process.on('uncaughtException', (err) => {
    log.error('crashed on an unexpected error', { error: describeError(err) });
    process.exit(EXIT.crash);
  });
  process.on('unhandledRejection', (err) => {
    log.error('crashed on an unhandled rejection', { error: describeError(err) });
    process.exit(EXIT.crash);
  });
}
