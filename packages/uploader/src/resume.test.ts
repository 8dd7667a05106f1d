import { randomBytes } from 'node:crypto';
import { crc64 } from '@mediaferry/crc64';
import { describe, expect, it } from 'vitest';
import type { CheckpointPart } from './checkpoint-store.js';
import { MIN_PART_SIZE, partAt, planParts } from './part-planner.js';
import { combineCrc, coversSource, reconcile, sameEtag } from './resume.js';

const P = MIN_PART_SIZE;
const fixed = planParts(3 * P + 10, { partSize: P });
const growing = planParts(null, { partSize: P, maxSourceBytes: 100 * P });

function part(n: number, plan = fixed, size?: number): CheckpointPart {
  const planned = partAt(plan, n);
  return {
    partNumber: n,
    offset: planned.offset,
    size: size ?? planned.size,
    etag: `"E${n}"`,
    crc64: String(n),
  };
}
const server = (p: CheckpointPart) => ({ partNumber: p.partNumber, etag: p.etag, size: p.size });

describe('reconcile', () => {
  it('keeps only parts the server holds with the recorded ETag and size', () => {
    const recorded = [part(1), part(2), part(3), part(4)];
    const onServer = [
      server(part(1)),
      { ...server(part(2)), etag: '"OTHER"' },
      { ...server(part(3)), size: 5 },
      // part 4 missing; part 9 never recorded
      { partNumber: 9, etag: '"E9"', size: P },
    ];
    const r = reconcile(fixed, recorded, onServer);
    expect(r.kept.map((p) => p.partNumber)).toEqual([1]);
    expect(r.dropped).toEqual([
      { partNumber: 2, reason: 'etag-differs' },
      { partNumber: 3, reason: 'size-differs' },
      { partNumber: 4, reason: 'missing-on-server' },
    ]);
    expect(r.unrecorded).toEqual([9]);
  });

  it('drops parts that do not sit where the plan puts them', () => {
    const wrong = { ...part(2), offset: 7 };
    const r = reconcile(fixed, [wrong], [server(wrong)]);
    expect(r.dropped).toEqual([{ partNumber: 2, reason: 'off-plan' }]);
  });

  it('ends a stream at its short part', () => {
    const recorded = [part(1, growing), part(2, growing, 10), part(3, growing)];
    const r = reconcile(growing, recorded, recorded.map(server));
    expect(r.kept.map((p) => p.partNumber)).toEqual([1, 2]);
    expect(r.dropped).toEqual([{ partNumber: 3, reason: 'off-plan' }]);
  });

  it('compares ETags without quotes and case', () => {
    expect(sameEtag('"ab12"', 'AB12')).toBe(true);
    expect(sameEtag('"ab12"', '"AB13"')).toBe(false);
  });
});

describe('coversSource', () => {
  it('needs every planned part for a known size', () => {
    expect(coversSource(fixed, [part(1), part(2), part(3), part(4)])).toBe(true);
    expect(coversSource(fixed, [part(1), part(2), part(4)])).toBe(false);
    expect(coversSource(fixed, [])).toBe(false);
  });

  it('needs contiguous parts ending in a short one for a stream', () => {
    expect(coversSource(growing, [part(1, growing), part(2, growing, 3)])).toBe(true);
    expect(coversSource(growing, [part(1, growing), part(2, growing)])).toBe(false);
    expect(coversSource(growing, [part(2, growing, 3)])).toBe(false);
  });
});

describe('combineCrc', () => {
  it('equals the CRC of the whole source for any cut', () => {
    const data = randomBytes(3 * P + 10);
    const parts = [0, 1, 2, 3].map((i) => {
      const body = data.subarray(i * P, Math.min(data.length, (i + 1) * P));
      return { size: body.length, crc64: crc64(body).toString() };
    });
    expect(combineCrc(parts)).toBe(crc64(data));
  });
});
