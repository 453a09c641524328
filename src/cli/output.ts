import type { Writable } from 'node:stream';
import type { Env } from '../shared/env';
import { escapeHiddenJson } from '../shared/escape-text';
import { redact, redactValue } from '../shared/redact';

/** Where the CLI writes, and how: everything it prints goes through `redact`. */
export interface Output {
  /** Colours are on: stdout is a terminal and `NO_COLOR` is not set. */
  readonly colour: boolean;
  /** Writes text to stdout, a newline added when missing. */
  print(text: string): void;
  /** Writes a value as JSON to stdout. */
  json(value: unknown): void;
  /** Writes text to stderr, a newline added when missing. */
  error(text: string): void;
  /** Raw writes (commander's help and errors come with their own newlines). */
  writeOut(text: string): void;
  writeErr(text: string): void;
}

/** Colour only on a terminal, never with `NO_COLOR` (any non-empty value), per no-color.org. Pure. */
export function colourWanted(isTTY: boolean | undefined, env: Env): boolean {
  const noColor = env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  return isTTY === true && env.TERM !== 'dumb';
}

const withNewline = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);

/** An output over two streams (process.stdout and process.stderr in main; buffers in tests). */
export function createOutput(stdout: Writable & { isTTY?: boolean }, stderr: Writable, env: Env): Output {
  const out = (text: string): void => void stdout.write(redact(text));
  const err = (text: string): void => void stderr.write(redact(text));
  return {
    colour: colourWanted(stdout.isTTY, env),
    print: (text) => out(withNewline(text)),
    // redacted before encoding: JSON writes a line break as `\n`, which hides the start of a token
    // on the next line from the patterns; hidden characters JSON leaves as they are are escaped
    json: (value) => out(`${escapeHiddenJson(JSON.stringify(redactValue(value), null, 2))}\n`),
    error: (text) => err(withNewline(text)),
    writeOut: out,
    writeErr: err,
  };
}
