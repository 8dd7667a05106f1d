import { Readable } from 'node:stream';

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
