import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/** Reads a small request body (RPC forms, Complete XML) whole; larger than `limit` → BodyTooLargeError. */
export async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError(`request body exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Reads and discards what is left of a request body so the connection can be reused. */
export async function drainBody(req: IncomingMessage): Promise<number> {
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) size += chunk.length;
  } catch {
    // the client went away; nothing to drain
  }
  return size;
}
