// `npm start` runs this before PM2: a missing or malformed variable is reported here, in the
// operator's terminal, instead of only in PM2's log.
import { loadWorkerConfig } from '../shared/config';
import { ConfigError, loadEnvironment } from '../shared/env';
import { EXIT } from '../shared/exit-codes';

try {
  const config = loadWorkerConfig(loadEnvironment());
  if (config.telegram.allowedChatIds.length === 0) {
    console.warn(
      'warning: TG_ALLOWED_CHAT_IDS is empty, so the bot answers no one; set it to your chat id(s).',
    );
  }
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`autonous cannot start: ${err.message}`);
  process.exit(EXIT.config);
}
