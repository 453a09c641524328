// The scheduler is built from its handlers, and some handlers (commands, approval decisions) act
// on the scheduler: they reach it through this link, bound once the scheduler exists.

import type { InboxRow } from '../queue/row';
import type { AnswerLanes } from './handlers/command';
import type { Scheduler } from './scheduler';

/** The scheduler as the handlers it is built from see it; `bind` it once it is built. */
export class SchedulerLink implements AnswerLanes {
  private scheduler: Scheduler | undefined;

  /** Binds the link to the scheduler, and returns the scheduler. */
  bind(scheduler: Scheduler): Scheduler {
    this.scheduler = scheduler;
    return scheduler;
  }

  /** New work may be ready (an item was stored or unparked). */
  wake(): void {
    this.target().wake();
  }

  /** Aborts the answer in flight of the chat's forum topic `threadId` (null: none); whether there was one. */
  cancel(chatId: number, threadId: number | null): boolean {
    return this.target().cancel(chatId, 'answer', threadId);
  }

  /** The items in flight now. */
  running(): InboxRow[] {
    return this.target().running();
  }

  private target(): Scheduler {
    if (this.scheduler === undefined) throw new Error('the scheduler was used before it was built');
    return this.scheduler;
  }
}
