/**
 * multipart/form-data as the fakes read it (RFC 7578): the boundary from the Content-Type header
 * and the parts of a body, bytes kept as they came. Both fakes take uploads the real clients build
 * (node-telegram-bot-api's sendDocument, the openai SDK's audio transcriptions), so they share it.
 */

/** One part of a multipart body; `filename` is set for a file part. */
export interface MultipartPart {
  name: string;
  filename: string | undefined;
  contentType: string;
  data: Buffer;
}

/** The boundary of a `multipart/form-data` Content-Type header, or undefined when it has none. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
  return (boundary?.[1] ?? boundary?.[2])?.trim() || undefined;
}

/** Splits a multipart/form-data body (RFC 7578) into its parts; bytes are kept as they came. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let start = body.indexOf(delimiter);
  if (start < 0) throw new Error('multipart boundary not found');
  for (;;) {
    let cursor = start + delimiter.length;
    if (body.subarray(cursor, cursor + 2).toString() === '--') break; // the closing delimiter
    if (body.subarray(cursor, cursor + 2).toString() === '\r\n') cursor += 2;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), cursor);
    if (next < 0) throw new Error('multipart part without a closing boundary');
    const headerEnd = body.indexOf('\r\n\r\n', cursor);
    if (headerEnd < 0 || headerEnd > next) throw new Error('multipart part without headers');
    const headers = body.subarray(cursor, headerEnd).toString('utf8');
    const disposition = /^content-disposition:(.*)$/im.exec(headers)?.[1] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    const partType = /^content-type:\s*(.*)$/im.exec(headers)?.[1]?.trim();
    if (name !== undefined) {
      parts.push({
        name,
        filename,
        contentType: partType ?? (filename === undefined ? 'text/plain' : 'application/octet-stream'),
        data: Buffer.from(body.subarray(headerEnd + 4, next)),
      });
    }
    start = next + 2;
  }
  return parts;
}
