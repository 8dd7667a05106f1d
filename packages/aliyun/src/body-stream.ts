import { Readable } from 'node:stream';
import type { PartBodyPass } from '@mediaferry/core';

/**
 * Default slice handed to the HTTP request per read: progress every 1 MiB, and socket writes big enough
 * that the receiver reads full 64 KiB segments (with 256 KiB slices the emulator spent ~40 % more CPU per
 * GiB receiving the same bytes, and the client ~5 % more sending them).
 */
export const DEFAULT_BODY_CHUNK_BYTES = 1024 * 1024;

/**
 * A readable over a part buffer that never copies it: each chunk is a `Buffer` view on the same memory.
 * The consumer (urllib's pipe into the request) pulls a chunk only when the request can take more, so
 * "bytes that left this stream" is "bytes handed to the socket" give or take one socket buffer; that is
 * what `onBytesSent` reports (cumulative, monotonic, ending at `body.length` once all was handed over).
 */
export function createBodyStream(
  body: Uint8Array,
  onBytesSent?: (sentBytes: number) => void,
  chunkBytes: number = DEFAULT_BODY_CHUNK_BYTES,
): Readable {
  let offset = 0;
  let reported = 0;
  const report = (sent: number) => {
    if (onBytesSent && sent > reported) {
      reported = sent;
      onBytesSent(sent);
    }
  };
  const stream = new Readable({
    highWaterMark: chunkBytes,
    read() {
      // Everything pushed so far minus what still sits in our buffer has been handed to the request.
      report(offset - this.readableLength);
      if (offset >= body.length) {
        this.push(null);
        return;
      }
      const end = Math.min(offset + chunkBytes, body.length);
      const view = Buffer.from(body.buffer, body.byteOffset + offset, end - offset);
      offset = end;
      this.push(view);
    },
  });
  if (onBytesSent) stream.once('end', () => report(body.length));
  return stream;
}

/**
 * A readable over one pass of a streamed part body (`PartBody.open`): each chunk is pushed as a view on
 * the pass's memory, which the pass reuses two chunks later. That is safe because the request is fed by
 * `pipe`, which pauses after every write the socket did not take at once (any chunk above the socket's
 * 16 KiB high-water mark) until the socket drained it, and because this stream buffers at most one chunk
 * ahead (`highWaterMark` of one chunk): a chunk is asked for only once the one two before it was written
 * out. The server's CRC-64 of the part, checked against the one computed while reading, would catch it
 * anyway. `onBytesSent` as for `createBodyStream`.
 */
export function createPassStream(
  pass: PartBodyPass,
  size: number,
  onBytesSent?: (sentBytes: number) => void,
): Readable {
  let pushed = 0;
  let reported = 0;
  const report = (sent: number) => {
    if (onBytesSent && sent > reported) {
      reported = sent;
      onBytesSent(sent);
    }
  };
  const stream = new Readable({
    highWaterMark: 1,
    read() {
      report(pushed - this.readableLength);
      pass.next().then(
        (chunk) => {
          if (chunk === null || chunk.length === 0) {
            // Fewer bytes than Content-Length would leave the server waiting for the rest.
            if (pushed !== size) this.destroy(new Error(`part body gave ${pushed} bytes, expected ${size}`));
            else this.push(null);
            return;
          }
          pushed += chunk.length;
          this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
        },
        (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    },
    destroy(err, callback) {
      pass.close();
      callback(err);
    },
  });
  if (onBytesSent) stream.once('end', () => report(size));
  return stream;
}
