/**
 * The facts the processes share are defined once (src/shared/contracts.ts): the ecosystem file
 * names the same apps, every reader of a chat id accepts the same syntax, and the supervisor, the
 * worker and the CLI read a threshold with the same default and range.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { chatId } from '../../src/cli/options';
import { loadWorkerConfig } from '../../src/shared/config';
import {
  APPS,
  parseChatId,
  parseRollbackDetail,
  SUPERVISOR_APP,
  SUPERVISOR_THRESHOLDS,
  WORKER_APP,
} from '../../src/shared/contracts';
import { ConfigError, readChatIds } from '../../src/shared/env';
import { loadSupervisorConfig } from '../../src/supervisor-hooks/config';

const SECRETS = {
  TELEGRAM_BOT_TOKEN: '123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678',
  OPENAI_API_KEY: 'sk-test-0123456789abcdef',
};

describe('cross-process contracts', () => {
  it('names the same PM2 apps as ecosystem.config.cjs', () => {
    // read, not loaded: loading it creates the releases folder and its `current` link
    const text = fs.readFileSync(path.resolve(__dirname, '..', '..', 'ecosystem.config.cjs'), 'utf8');
    const names = [...text.matchAll(/^\s*name: '([^']+)',$/gm)].map((m) => m[1]);
    expect(names).toEqual([...APPS]);
    expect(APPS).toEqual([WORKER_APP, SUPERVISOR_APP]);
  });

  it.each([
    ['12345', 12345],
    [' -100987654321 ', -100987654321],
    ['0', 0],
    ['12a', null],
    ['1.5', null],
    ['', null],
    ['99999999999999999999', null], // beyond a safe integer
  ])('reads the chat id %j as %p, in the env and on the command line alike', (text, expected) => {
    expect(parseChatId(text)).toBe(expected);
    const env = (): readonly number[] => readChatIds({ IDS: text }, 'IDS');
    if (expected === null && text.trim() !== '') {
      expect(env).toThrow(ConfigError);
      expect(() => chatId(text)).toThrow(InvalidArgumentError);
    } else if (expected !== null) {
      expect(env()).toEqual([expected]);
      expect(chatId(text)).toBe(expected);
    }
  });

  it('gives the worker the crash-loop threshold the supervisor uses, default and bounds alike', () => {
    const t = SUPERVISOR_THRESHOLDS.SUPERVISOR_CRASH_LOOP_RESTARTS;
    expect(loadWorkerConfig(SECRETS).worker.crashLoopRestarts).toBe(t.default);
    expect(loadSupervisorConfig({}).crashLoopRestarts).toBe(t.default);
    const tooMany = { SUPERVISOR_CRASH_LOOP_RESTARTS: String(t.max + 1) };
    expect(() => loadWorkerConfig({ ...SECRETS, ...tooMany })).toThrow(ConfigError);
    expect(() => loadSupervisorConfig(tooMany)).toThrow(ConfigError);
    const ok = { SUPERVISOR_CRASH_LOOP_RESTARTS: String(t.max) };
    expect(loadWorkerConfig({ ...SECRETS, ...ok }).worker.crashLoopRestarts).toBe(t.max);
    expect(loadSupervisorConfig(ok).crashLoopRestarts).toBe(t.max);
  });

  it("reads a rollback's detail as the supervisor writes it, and an unreadable one as nothing", () => {
    expect(parseRollbackDetail(JSON.stringify({ from: 'r2', to: 'r1', reason: 'crash loop' }))).toEqual({
      from: 'r2',
      to: 'r1',
      reason: 'crash loop',
    });
    expect(parseRollbackDetail(JSON.stringify({ from: null, to: 'r1', reason: 7 }))).toEqual({ to: 'r1' });
    expect(parseRollbackDetail('not json')).toEqual({});
    expect(parseRollbackDetail('"a string"')).toEqual({});
    expect(parseRollbackDetail(null)).toEqual({});
  });
});
