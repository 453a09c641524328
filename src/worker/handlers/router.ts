import type { InboxRow } from '../../queue/row';
import { routeItem } from '../route';
import type { Handler, Outcome } from './handler';
import { selftestHandler } from './selftest';

/** The handlers a router dispatches to, one per route. */
export interface RoutedHandlers {
  readonly chat: Handler;
  readonly command: Handler;
  readonly callback: Handler;
  readonly refuse: Handler;
  readonly migrate: Handler;
  notice(text: string, reason: string): Handler;
}

/** Picks the handler of an item by its route (`routeItem`). */
export function routerFor(
  handlers: RoutedHandlers,
  isAllowed: (chatId: number) => boolean,
): (item: InboxRow) => Handler {
  return (item) => {
    const route = routeItem(item, isAllowed);
    switch (route.kind) {
      case 'refuse':
        return handlers.refuse;
      case 'notice':
        return handlers.notice(route.text, route.reason);
      case 'skip':
        return skipWith(route.reason);
      case 'chat':
        return handlers.chat;
      case 'command':
        return handlers.command;
      case 'callback':
        return handlers.callback;
      case 'migrate':
        return handlers.migrate;
      case 'selftest':
        return selftestHandler;
    }
  };
}

function skipWith(reason: string): Handler {
  return { handle: async (): Promise<Outcome> => ({ kind: 'skipped', reason }) };
}
