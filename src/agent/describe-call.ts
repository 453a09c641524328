// One short line per tool call, for the status message and the answer at a limit: "read
// src/app.ts", "bash `npm test`". Each tool says how its calls read (its `describe`, made of the
// helpers here); a name no tool has, which a model may well call, reads as the name and its path.
// Pure.

import type { Tool } from './ports';

const MAX_DETAIL = 60;

type Args = Readonly<Record<string, unknown>>;

function argsOf(args: unknown): Args {
  return typeof args === 'object' && args !== null ? (args as Args) : {};
}

function text(args: Args, key: string): string | undefined {
  const value = args[key];
  return typeof value === 'string' ? value : undefined;
}

/** A call in a few words: its tool's own description, or the name and its path for an unknown tool. */
export function describeCall(tool: Pick<Tool, 'describe'> | undefined, name: string, args: unknown): string {
  return tool !== undefined ? tool.describe(args) : describeByPath(name, args);
}

/** "read src/app.ts": the name and the `path` argument, or the name alone without one. */
export function describeByPath(name: string, args: unknown): string {
  const path = text(argsOf(args), 'path');
  return path === undefined ? name : `${name} ${shorten(path)}`;
}

/** "ls src": the name and the `path` argument, the project's top (".") without one. */
export function describeFolder(name: string, args: unknown): string {
  return `${name} ${shorten(text(argsOf(args), 'path') ?? '.')}`;
}

/** "grep TODO in src": the name, the `pattern` argument and the `path` it searches, if any. */
export function describeByPattern(name: string, args: unknown): string {
  const a = argsOf(args);
  const pattern = text(a, 'pattern');
  return pattern === undefined ? name : `${name} ${shorten(pattern)}${inPath(text(a, 'path'))}`;
}

/** "bash `npm test`": the name and the `command` argument on one line, in backquotes. */
export function describeCommand(name: string, args: unknown): string {
  const command = text(argsOf(args), 'command');
  return command === undefined ? name : `${name} \`${shorten(oneLine(command))}\``;
}

function inPath(path: string | undefined): string {
  return path === undefined ? '' : ` in ${shorten(path)}`;
}

function oneLine(value: string): string {
  return value.replace(/\s*\n\s*/g, ' ⏎ ').trim();
}

function shorten(value: string): string {
  return value.length <= MAX_DETAIL ? value : `${value.slice(0, MAX_DETAIL - 1)}…`;
}
