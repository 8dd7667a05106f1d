import { sleep } from '../util/time.js';

/**
 * A shared link of `bytesPerSecond`: every chunk that passes (request bodies in, GET bodies out) books
 * its transfer time on one timeline, so N parallel transfers share the rate like they would share a
 * real link. Waiting while a chunk is "on the wire" pauses the socket read, so TCP backpressure slows
 * the client down too.
 */
export class Throttle {
  #freeAt = 0;
  constructor(readonly bytesPerSecond: number) {
    if (!(bytesPerSecond > 0)) throw new RangeError('bytesPerSecond must be > 0');
  }

  async take(bytes: number): Promise<void> {
    const now = performance.now();
    const start = Math.max(now, this.#freeAt);
    this.#freeAt = start + (bytes * 1000) / this.bytesPerSecond;
    const wait = this.#freeAt - now;
    if (wait >= 1) await sleep(wait);
  }
}

/** Passes `source` through the throttle returned by `current()` (checked per chunk, so it can change). */
export async function* throttled(
  source: AsyncIterable<Buffer>,
  current: () => Throttle | undefined,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const t = current();
    if (t) await t.take(chunk.length);
    yield chunk;
  }
}

export class BodyCutError extends Error {
  override name = 'BodyCutError';
}

/**
 * Yields the first `afterBytes` bytes of `source`, then calls `cut` (which destroys the socket) and
 * throws BodyCutError — a connection dropped midway through a body.
 */
export async function* cutAfter(
  source: AsyncIterable<Buffer>,
  afterBytes: number,
  cut: () => void,
): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of source) {
    if (seen + chunk.length >= afterBytes) {
      const head = chunk.subarray(0, afterBytes - seen);
      if (head.length > 0) yield head;
      cut();
      throw new BodyCutError(`body cut after ${afterBytes} bytes`);
    }
    seen += chunk.length;
    yield chunk;
  }
}
