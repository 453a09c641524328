// One short line per tool call, for the status message and the answer at a limit: "read
// src/app.ts", "bash `npm test`". Pure.

const MAX_DETAIL = 60;

/** A tool call in a few words: its name and the argument that says the most. */
export function describeCall(name: string, args: unknown): string {
  const a = typeof args === 'object' && args !== null ? (args as Record<string, unknown>) : {};
  const text = (key: string): string | undefined => (typeof a[key] === 'string' ? a[key] : undefined);
  switch (name) {
    case 'bash': {
      const command = text('command');
      return command === undefined ? 'bash' : `bash \`${shorten(oneLine(command))}\``;
    }
    case 'grep': {
      const pattern = text('pattern');
      return pattern === undefined ? 'grep' : `grep ${shorten(pattern)}${inPath(text('path'))}`;
    }
    case 'find': {
      const pattern = text('pattern');
      return pattern === undefined ? 'find' : `find ${shorten(pattern)}${inPath(text('path'))}`;
    }
    case 'ls':
      return `ls ${shorten(text('path') ?? '.')}`;
    default: {
      const path = text('path');
      return path === undefined ? name : `${name} ${shorten(path)}`;
    }
  }
}

function inPath(path: string | undefined): string {
  return path === undefined ? '' : ` in ${shorten(path)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ⏎ ').trim();
}

function shorten(text: string): string {
  return text.length <= MAX_DETAIL ? text : `${text.slice(0, MAX_DETAIL - 1)}…`;
}
