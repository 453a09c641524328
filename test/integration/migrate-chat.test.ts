import { migrateChat, migratedChats } from '../../src/queue/migrate-chat';
import { sessionFor } from '../../src/queue/agent/session';
import { KV } from '../../src/shared/contracts';
import { openTempDb, removeTempDir, type TempDb } from '../helpers/temp-db';

// A group that became a supergroup, on a real database: what moves, what does not, and that the
// same migration told twice moves nothing twice.

let db: TempDb;
beforeEach(() => {
  db = openTempDb();
});
afterEach(() => {
  db.sqlite.close();
  removeTempDir(db.dir);
});

const OLD = -100;
const NEW = -1009876543210;
const OTHER = -1001; // shares OLD's digits as a prefix: must not move with it

function kv(): Record<string, string> {
  const rows = db.sqlite.prepare('SELECT key, value FROM kv ORDER BY key').all() as {
    key: string;
    value: string;
  }[];
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

describe('migrateChat', () => {
  it("moves the group's sessions and choices (its own and its topics') to the new id, and nothing of another chat", () => {
    const put = db.sqlite.prepare('INSERT INTO kv (key, value, updated_at) VALUES (?, ?, 0)');
    put.run(KV.chatProject(OLD), 'site');
    put.run(KV.chatProject(OLD, 4), 'docs');
    put.run(KV.conversationStart(OLD), '17');
    put.run(KV.chatProject(OTHER), 'theirs');
    const session = sessionFor(db.sqlite, OLD, 0, 'site', 0, 1);
    const theirs = sessionFor(db.sqlite, OTHER, 0, 'theirs', 0, 1);

    expect(migrateChat(db.sqlite, OLD, NEW, 5)).toBe(true);

    expect(kv()).toMatchObject({
      [KV.chatProject(NEW)]: 'site',
      [KV.chatProject(NEW, 4)]: 'docs',
      [KV.conversationStart(NEW)]: '17',
      [KV.chatProject(OTHER)]: 'theirs',
      [KV.migratedChat(NEW)]: String(OLD),
    });
    expect(Object.keys(kv()).filter((k) => k.includes(String(OTHER)) && k !== KV.chatProject(OTHER))).toEqual(
      [],
    );
    const chats = db.sqlite.prepare('SELECT id, chat_id AS chatId FROM sessions ORDER BY id').all();
    expect(chats).toEqual([
      { id: session, chatId: NEW },
      { id: theirs, chatId: OTHER },
    ]);
    expect(migratedChats(db.sqlite)).toEqual(new Map([[NEW, OLD]]));
  });

  it('moves nothing twice when the same migration comes again', () => {
    expect(migrateChat(db.sqlite, OLD, NEW, 5)).toBe(true);
    db.sqlite
      .prepare('INSERT INTO kv (key, value, updated_at) VALUES (?, ?, 0)')
      .run(KV.chatProject(OLD), 'later');
    expect(migrateChat(db.sqlite, OLD, NEW, 6)).toBe(false);
    expect(kv()[KV.chatProject(NEW)]).toBeUndefined();
  });
});
