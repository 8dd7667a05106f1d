import { createReadStream } from 'node:fs';
import type { Segment } from './object-store.js';

const READ_CHUNK = 256 * 1024;

/**
 * Bytes `start..end` (inclusive) of the concatenation of `segments`, read file by file so a multipart
 * object is served straight from its part files and a range may span several of them.
 */
export async function* readSegments(
  segments: readonly Segment[],
  start: number,
  end: number,
): AsyncGenerator<Buffer> {
  let offset = 0;
  for (const segment of segments) {
    const segStart = offset;
    const segEnd = offset + segment.size - 1;
    offset += segment.size;
    if (segment.size === 0 || segEnd < start) continue;
    if (segStart > end) break;
    const from = Math.max(start, segStart) - segStart;
    const to = Math.min(end, segEnd) - segStart;
    yield* createReadStream(segment.file, {
      start: from,
      end: to,
      highWaterMark: READ_CHUNK,
    }) as AsyncIterable<Buffer>;
  }
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Parses `Range: bytes=a-b | a- | -n` against `size` as OSS does: a syntactically invalid or
 * multi-range header is ignored (whole object, 200) → `undefined`; a start beyond the end → 'unsatisfiable'.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
