// Tells a person whose message waits behind a run of their chat that it waits, and how to stop
// the run: under AGENT_BUSY=queue always, under `steer` when the run is parked for an approval
// (a parked run takes no message in). A steered message gets its own note from the run instead.
// Each message is told once: the newest inbox id checked is kept in kv, so a restart does not
// tell again (a kill between a notice and that write tells once more at worst; it is no answer).

import type Database from 'better-sqlite3';
import { getKv, KV, setKv } from '../queue/kv';
import { newestInboxId, waitingSince } from '../queue/waiting';
import type { Logger } from '../shared/log';
import { sendNotice, type SendTelegram } from './replier';
import { inTopicOf } from './telegram/topic';

/** What a message waiting behind a run is told. */
export const WAITING_NOTICE =
  'This waits for the run in progress and is answered after it. /stop ends that run.';
/** What a message in one forum topic waiting behind another topic's run is told. */
export const WAITING_OTHER_TOPIC_NOTICE =
  "This waits for a run in another topic of this chat and is answered after it (a chat's runs go one at a time).";
/** What a message waiting behind a run parked for an approval is told. */
export const WAITING_PARKED_NOTICE =
  'This waits: the run in progress waits for an approval, and this message is answered after it. /stop ends that run.';

export interface WaitingNoticeDeps {
  readonly sqlite: Database.Database;
  readonly telegram: SendTelegram;
  readonly log: Logger;
  readonly now: () => number;
  readonly busy: 'steer' | 'queue';
}

/** Checks for newly waiting messages after each stored batch (`check`), one check at a time. */
export class WaitingNotices {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: WaitingNoticeDeps) {
    // messages stored before this start were told by the worker that stored them, or are old
    if (getKv(deps.sqlite, KV.waitingToldThrough) === undefined) {
      setKv(deps.sqlite, KV.waitingToldThrough, String(newestInboxId(deps.sqlite)), deps.now());
    }
  }

  /** Tells the messages stored since the last check that wait behind a run. Never throws. */
  check(): void {
    this.chain = this.chain
      .then(() => this.tell())
      .catch((err: unknown) => this.deps.log.warn('could not tell waiting messages', { error: String(err) }));
  }

  private async tell(): Promise<void> {
    const { sqlite, log, now, busy } = this.deps;
    const from = Number(getKv(sqlite, KV.waitingToldThrough) ?? 0);
    const through = newestInboxId(sqlite);
    if (through <= from) return;
    // a run of another forum topic never takes a message in, whatever AGENT_BUSY says
    const waiting = waitingSince(sqlite, from).filter(
      (m) => busy === 'queue' || m.behindParked || m.behindOtherTopic,
    );
    setKv(sqlite, KV.waitingToldThrough, String(through), now());
    for (const message of waiting) {
      const text = message.behindOtherTopic
        ? WAITING_OTHER_TOPIC_NOTICE
        : message.behindParked
          ? WAITING_PARKED_NOTICE
          : WAITING_NOTICE;
      await inTopicOf(message, () =>
        sendNotice(this.deps.telegram, log, message.chatId, message.messageId, text),
      ).catch((err: unknown) =>
        log.warn('could not tell a message that it waits', { id: message.id, error: String(err) }),
      );
    }
  }
}
