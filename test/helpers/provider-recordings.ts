/**
 * Responses real OpenAI-compatible servers sent, recorded by other projects' test suites and kept
 * in ../shared/recordings/providers (index.json says where each came from and what it shows), as
 * the fake OpenAI answers them: the recorded status, headers and body, word for word.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The folder of the recordings and their index.json. */
export const RECORDINGS = path.resolve(__dirname, '../../../shared/recordings/providers');

interface RecordedResponse {
  readonly file: string;
  readonly status: number;
  readonly headers: Record<string, string>;
}

interface Index {
  readonly recordings: readonly {
    readonly name: string;
    readonly responses: Readonly<Record<string, RecordedResponse>>;
  }[];
}

/** A recorded file's text. */
export function recordedText(file: string): string {
  return fs.readFileSync(path.join(RECORDINGS, file), 'utf8');
}

/**
 * One response of a recording (`first`, `retry`, `followUp`) for the fake's `failNext`: it serves
 * the recorded body under the recorded status and headers, whatever was asked.
 */
export function recordedResponse(
  name: string,
  part = 'first',
): RecordedResponse & { readonly rawBody: string } {
  const index = JSON.parse(recordedText('index.json')) as Index;
  const response = index.recordings.find((r) => r.name === name)?.responses[part];
  if (!response) throw new Error(`no recorded response ${name} (${part}) in ${RECORDINGS}/index.json`);
  return { ...response, rawBody: recordedText(response.file) };
}
