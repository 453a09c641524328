// What the bot tells Telegram about itself at start (its command menu) and learns from it (its
// @username, which tells `/cmd@other_bot` in groups apart from our own commands).

import { describeError, type Logger } from '../shared/log';
import { menuCommands } from './commands';
import type { TelegramClient } from './telegram/client';

/** The bot's own profile: registered once at start, best effort. */
export class BotProfile {
  private name: string | undefined;

  constructor(
    private readonly telegram: Pick<TelegramClient, 'setMyCommands' | 'getMe'>,
    private readonly log: Logger,
  ) {}

  /** The bot's @username, once `getMe` answered. */
  readonly username = (): string | undefined => this.name;

  /** Sets the command menu and reads the username; a failure is only worth a warning. */
  register(): void {
    // a failure leaves the old menu
    void this.telegram
      .setMyCommands(menuCommands())
      .catch((err: unknown) =>
        this.log.warn('could not register the command menu (setMyCommands)', { error: describeError(err) }),
      );
    void this.telegram
      .getMe()
      .then((me) => (this.name = me.username))
      .catch((err: unknown) =>
        this.log.warn('could not read the bot user (getMe)', { error: describeError(err) }),
      );
  }
}
