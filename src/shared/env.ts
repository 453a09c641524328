import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { CHAT_ID_EXAMPLE, parseChatId, SUPERVISOR_THRESHOLDS, type ThresholdName } from './contracts';
import { WORKER_SETTINGS } from './settings';

/** A variable is missing or malformed; the message is one sentence naming it and what to set. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The environment with `AUTONOUS_ENV_FILE` (default `~/.env`) filling what is unset.
 * `accept` limits which names are taken from the file, so a process that must not hold
 * secrets (the supervisor) never reads them.
 */
export function loadEnvironment(env: Env = process.env, accept: (name: string) => boolean = () => true): Env {
  const explicit = env.AUTONOUS_ENV_FILE;
  const file = envFilePath(env);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!explicit && (code === 'ENOENT' || code === 'ENOTDIR')) return { ...env };
    throw new ConfigError(
      'AUTONOUS_ENV_FILE',
      `Cannot read the env file ${file} (${code ?? 'error'}): set AUTONOUS_ENV_FILE to a readable file or unset it.`,
    );
  }
  const merged: Record<string, string | undefined> = { ...env };
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (merged[name] === undefined && accept(name)) merged[name] = value;
  }
  return merged;
}

/** The env file `loadEnvironment` reads: `AUTONOUS_ENV_FILE`, else `~/.env`. */
export function envFilePath(env: Env = process.env): string {
  const explicit = env.AUTONOUS_ENV_FILE;
  return explicit && explicit.trim() !== '' ? explicit : path.join(os.homedir(), '.env');
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** A required string; `hint` says where the operator gets the value. */
export function readRequired(env: Env, name: string, hint: string): string {
  const value = raw(env, name);
  if (value === undefined) throw new ConfigError(name, `${name} is not set: ${hint}`);
  return value;
}

/** An optional string with a default. */
export function readString(env: Env, name: string, fallback: string): string {
  return raw(env, name) ?? fallback;
}

/** An integer in [min, max], or the default when unset. */
export function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(name, `${name} must be a whole number from ${min} to ${max} (got "${value}").`);
  }
  return Number(value);
}

/** A non-negative number (fractions allowed) in [min, max], or the default when unset. */
export function readNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(name, `${name} must be a number from ${min} to ${max} (got "${value}").`);
  }
  return n;
}

/** true/false, 1/0, yes/no, on/off; the default when unset. */
export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(name, `${name} must be true or false (got "${value}").`);
}

/** A comma-separated list of Telegram chat ids (may be negative); empty when unset. */
export function readChatIds(env: Env, name: string): readonly number[] {
  const value = raw(env, name);
  if (value === undefined) return [];
  const ids: number[] = [];
  for (const text of value.split(',').filter((s) => s.trim() !== '')) {
    const id = parseChatId(text);
    if (id === null) {
      throw new ConfigError(
        name,
        `${name} must be comma-separated numeric chat ids, like ${CHAT_ID_EXAMPLE.replace(' or ', ',')} (got "${text.trim()}").`,
      );
    }
    ids.push(id);
  }
  return Object.freeze(ids);
}

/** One of the supervisor's thresholds, in its range, or its default when unset. */
export function readThreshold(env: Env, name: ThresholdName): number {
  const { default: fallback, min, max } = SUPERVISOR_THRESHOLDS[name];
  return readInt(env, name, fallback, min, max);
}

/** An http(s) URL; the default when unset. */
export function readUrl(env: Env, name: string, fallback: string): string {
  const value = raw(env, name) ?? fallback;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, `${name} must be an http(s) URL (got "${value}").`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `${name} must be an http(s) URL (got "${value}").`);
  }
  return value.replace(/\/+$/, '');
}

/** The project folder: `AUTONOUS_HOME`, else the checkout this file was built into. */
export function projectHome(env: Env = process.env): string {
  const home = raw(env, 'AUTONOUS_HOME');
  // dist/shared/env.js and src/shared/env.ts both sit two levels below the project
  return home ? path.resolve(home) : path.resolve(__dirname, '..', '..');
}

/** The database file: `TG_DB_PATH` (relative paths are taken from the project folder). */
export function dbPath(env: Env): string {
  return path.resolve(projectHome(env), raw(env, 'TG_DB_PATH') ?? WORKER_SETTINGS.TG_DB_PATH.default);
}
