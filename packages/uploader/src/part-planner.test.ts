import { SourceTooLargeError, ValidationError } from '@mediaferry/core';
import { describe, expect, it } from 'vitest';
import {
  capacity,
  largestPartSize,
  MAX_OBJECT_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  partAt,
  partCount,
  planParts,
} from './part-planner.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** Walks every part of a plan and checks they tile [0, size) with legal sizes. */
function checkTiling(size: number, partSize?: number) {
  const plan = planParts(size, partSize === undefined ? {} : { partSize });
  const count = partCount(plan)!;
  expect(count).toBeLessThanOrEqual(MAX_PARTS);
  let offset = 0;
  for (let n = 1; n <= count; n++) {
    const p = partAt(plan, n);
    expect(p.offset).toBe(offset);
    expect(p.size).toBeLessThanOrEqual(MAX_PART_SIZE);
    if (n < count) expect(p.size).toBeGreaterThanOrEqual(MIN_PART_SIZE);
    offset += p.size;
  }
  expect(offset).toBe(size);
  return { plan, count };
}

describe('planParts (known size)', () => {
  it('keeps the preferred size while 10,000 parts are enough', () => {
    const { plan, count } = checkTiling(20 * MiB + 5, 8 * MiB);
    expect(plan).toEqual({ kind: 'fixed', partSize: 8 * MiB, totalSize: 20 * MiB + 5 });
    expect(count).toBe(3);
    expect(partAt(plan, 3)).toEqual({ partNumber: 3, offset: 16 * MiB, size: 4 * MiB + 5 });
  });

  it('grows the part size (whole MiB) to stay within 10,000 parts', () => {
    const size = 100 * GiB;
    const plan = planParts(size, { partSize: 8 * MiB });
    expect(plan.kind).toBe('fixed');
    if (plan.kind !== 'fixed') return;
    expect(plan.partSize % MiB).toBe(0);
    expect(plan.partSize).toBeGreaterThan(8 * MiB);
    expect(Math.ceil(size / plan.partSize)).toBeLessThanOrEqual(MAX_PARTS);
    expect(Math.ceil(size / (plan.partSize - MiB))).toBeGreaterThan(MAX_PARTS);
  });

  it('plans a 48.8 TiB file within 10,000 parts of at most 5 GiB', () => {
    const plan = planParts(MAX_OBJECT_SIZE);
    const count = partCount(plan)!;
    expect(count).toBeLessThanOrEqual(MAX_PARTS);
    const last = partAt(plan, count);
    expect(last.offset + last.size).toBe(MAX_OBJECT_SIZE);
    expect(largestPartSize(plan)).toBeLessThanOrEqual(MAX_PART_SIZE);
    expect(partAt(plan, 1).size).toBeGreaterThan(5 * GiB - 10 * MiB);
  });

  it('refuses sources larger than an OSS object', () => {
    expect(() => planParts(MAX_OBJECT_SIZE + 1)).toThrow(SourceTooLargeError);
  });

  it('tiles exactly at boundaries: multiples of the part size, one byte, empty', () => {
    expect(checkTiling(3 * MIN_PART_SIZE, MIN_PART_SIZE).count).toBe(3);
    expect(checkTiling(3 * MIN_PART_SIZE + 1, MIN_PART_SIZE).count).toBe(4);
    expect(checkTiling(1, MIN_PART_SIZE).count).toBe(1);
    const empty = planParts(0);
    expect(partCount(empty)).toBe(1);
    expect(partAt(empty, 1)).toEqual({ partNumber: 1, offset: 0, size: 0 });
    expect(checkTiling(MAX_PARTS * MIN_PART_SIZE, MIN_PART_SIZE).count).toBe(MAX_PARTS);
    expect(checkTiling(MAX_PARTS * MIN_PART_SIZE + 1, MIN_PART_SIZE).count).toBeLessThanOrEqual(MAX_PARTS);
  });

  it('rejects part sizes outside OSS limits', () => {
    expect(() => planParts(10, { partSize: MIN_PART_SIZE - 1 })).toThrow(ValidationError);
    expect(() => planParts(10, { partSize: MAX_PART_SIZE + 1 })).toThrow(ValidationError);
    expect(() => planParts(10, { partSize: 1.5 * MiB + 0.5 })).toThrow(ValidationError);
    expect(() => partAt(planParts(10), 2)).toThrow(RangeError);
  });
});

describe('planParts (unknown size)', () => {
  it('keeps a constant size when 10,000 preferred parts hold the maximum', () => {
    const plan = planParts(null, { partSize: 8 * MiB, maxSourceBytes: 5 * GiB });
    expect(plan).toMatchObject({ kind: 'growing', initialPartSize: 8 * MiB, stepEvery: MAX_PARTS });
    expect(partAt(plan, MAX_PARTS).size).toBe(8 * MiB);
    expect(partCount(plan)).toBeNull();
  });

  it('steps part sizes up so that the maximum source fits, as slowly as possible', () => {
    const plan = planParts(null, { partSize: MIN_PART_SIZE, maxSourceBytes: 5 * GiB });
    if (plan.kind !== 'growing') throw new Error('expected a growing plan');
    expect(capacity(plan)).toBeGreaterThanOrEqual(5 * GiB);
    expect(capacity({ ...plan, stepEvery: plan.stepEvery + 1 })).toBeLessThan(5 * GiB);
    expect(partAt(plan, 1).size).toBe(MIN_PART_SIZE);
    expect(partAt(plan, plan.stepEvery).size).toBe(MIN_PART_SIZE);
    expect(partAt(plan, plan.stepEvery + 1).size).toBe(2 * MIN_PART_SIZE);
  });

  it('gives contiguous offsets across steps', () => {
    const plan = planParts(null, { partSize: MIN_PART_SIZE, maxSourceBytes: 40 * GiB });
    let offset = 0;
    for (let n = 1; n <= MAX_PARTS; n += 1) {
      const p = partAt(plan, n);
      expect(p.offset).toBe(offset);
      expect(p.size).toBeGreaterThanOrEqual(MIN_PART_SIZE);
      expect(p.size).toBeLessThanOrEqual(MAX_PART_SIZE);
      offset += p.size;
    }
    expect(offset).toBe(capacity(plan));
    expect(offset).toBeGreaterThanOrEqual(40 * GiB);
    expect(largestPartSize(plan)).toBe(partAt(plan, MAX_PARTS).size);
  });

  it('reaches 48.8 TiB with parts capped at 5 GiB', () => {
    const plan = planParts(null, { partSize: 8 * MiB, maxSourceBytes: MAX_OBJECT_SIZE });
    expect(capacity(plan)).toBeGreaterThanOrEqual(MAX_OBJECT_SIZE);
    expect(largestPartSize(plan)).toBeLessThanOrEqual(MAX_PART_SIZE);
  });
});
