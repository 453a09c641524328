// The few ANSI codes the CLI uses; every function is the identity when colour is off.

export interface Paint {
  readonly red: (text: string) => string;
  readonly green: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly bold: (text: string) => string;
}

const code =
  (open: number, close: number) =>
  (text: string): string =>
    `\u001b[${open}m${text}\u001b[${close}m`;

const ON: Paint = {
  red: code(31, 39),
  green: code(32, 39),
  yellow: code(33, 39),
  dim: code(2, 22),
  bold: code(1, 22),
};
const same = (text: string): string => text;
const OFF: Paint = { red: same, green: same, yellow: same, dim: same, bold: same };

/** The painter for an output with or without colour. */
export function paint(colour: boolean): Paint {
  return colour ? ON : OFF;
}
