// The last part of a command's output, kept in memory while the whole output streams to a file:
// memory stays bounded whatever the command prints.

/** Caps of what the model is shown of an output (2000 lines or 50 KB): enough to act on, little enough to leave room in the context. */
export const TAIL_MAX_LINES = 2000;
export const TAIL_MAX_BYTES = 50 * 1024;

/** The tail as text, and whether anything before it was left out. */
export interface TailText {
  readonly text: string;
  readonly truncated: boolean;
}

/** Keeps the last `maxBytes` bytes of a byte stream (plus at most one chunk), cut to lines on read. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes seen since the start. */
  total = 0;

  constructor(
    private readonly maxBytes = TAIL_MAX_BYTES,
    private readonly maxLines = TAIL_MAX_LINES,
  ) {}

  /** Adds a chunk, dropping whole old chunks once the rest still covers `maxBytes`. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.kept += chunk.length;
    this.total += chunk.length;
    while (this.chunks.length > 1 && this.kept - (this.chunks[0] as Buffer).length >= this.maxBytes) {
      this.kept -= (this.chunks.shift() as Buffer).length;
    }
  }

  /**
   * The last lines within both caps. A cut never starts mid-line (nor mid-character): the partial
   * first line of a cut is dropped.
   */
  read(): TailText {
    let bytes = Buffer.concat(this.chunks);
    let truncated = false;
    if (bytes.length > this.maxBytes) {
      bytes = bytes.subarray(bytes.length - this.maxBytes);
      truncated = true;
      const newline = bytes.indexOf(0x0a);
      bytes = newline === -1 ? Buffer.alloc(0) : bytes.subarray(newline + 1);
    }
    let text = bytes.toString('utf8');
    const endsWithNewline = text.endsWith('\n');
    const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n');
    if (text !== '' && lines.length > this.maxLines) {
      text = lines.slice(-this.maxLines).join('\n') + (endsWithNewline ? '\n' : '');
      truncated = true;
    }
    return { text, truncated };
  }
}
