import { SourceTooLargeError, ValidationError } from '@mediaferry/core';

/** OSS limits for multipart uploads. */
export const MAX_PARTS = 10_000;
export const MIN_PART_SIZE = 100 * 1024;
export const MAX_PART_SIZE = 5 * 1024 ** 3;
/** OSS's largest object (48.8 TiB). */
export const MAX_OBJECT_SIZE = Math.floor(48.8 * 1024 ** 4);
const MiB = 1024 ** 2;

/**
 * How a source is cut into parts; stored in the checkpoint so any engine (with any options) finds the
 * same offsets on resume.
 * - `fixed`: every part is `partSize` except the last; the size is known.
 * - `growing`: the size is unknown; parts start at `initialPartSize` and double after every `stepEvery`
 *   parts (capped at `maxPartSize`), so `maxSourceBytes` fits in 10,000 parts while small streams keep
 *   small parts (memory stays at (parallelism + 1) × the current part size).
 */
export type PartPlan =
  | { kind: 'fixed'; partSize: number; totalSize: number }
  | {
      kind: 'growing';
      initialPartSize: number;
      stepEvery: number;
      maxPartSize: number;
      maxSourceBytes: number;
    };

export interface PlannedPart {
  partNumber: number;
  offset: number;
  size: number;
}

export interface PlanOptions {
  /** Preferred part size. @defaultValue 8 MiB */
  partSize?: number;
  /** Largest source of unknown size the plan must hold in 10,000 parts. @defaultValue 5 GiB */
  maxSourceBytes?: number;
}

/** Picks the plan for a source of `size` bytes (null = unknown). */
export function planParts(size: number | null, options: PlanOptions = {}): PartPlan {
  const preferred = options.partSize ?? 8 * MiB;
  if (!Number.isSafeInteger(preferred) || preferred < MIN_PART_SIZE || preferred > MAX_PART_SIZE) {
    throw new ValidationError(
      `part size must be an integer in [${MIN_PART_SIZE}, ${MAX_PART_SIZE}], got ${preferred}`,
    );
  }
  if (size !== null) {
    if (!Number.isSafeInteger(size) || size < 0) throw new ValidationError(`invalid source size ${size}`);
    if (size > MAX_OBJECT_SIZE) {
      throw new SourceTooLargeError(
        `source is ${size} bytes; an OSS object holds at most ${MAX_OBJECT_SIZE}`,
      );
    }
    // Grow only when the preferred size would need more than 10,000 parts; round up to whole MiB.
    const needed = Math.ceil(size / MAX_PARTS);
    const partSize = needed <= preferred ? preferred : Math.min(MAX_PART_SIZE, Math.ceil(needed / MiB) * MiB);
    return { kind: 'fixed', partSize, totalSize: size };
  }
  const maxSourceBytes = options.maxSourceBytes ?? 5 * 1024 ** 3;
  if (!Number.isSafeInteger(maxSourceBytes) || maxSourceBytes <= 0 || maxSourceBytes > MAX_OBJECT_SIZE) {
    throw new ValidationError(`maxSourceBytes must be a positive integer ≤ ${MAX_OBJECT_SIZE}`);
  }
  const base = {
    kind: 'growing' as const,
    initialPartSize: preferred,
    maxPartSize: MAX_PART_SIZE,
    maxSourceBytes,
  };
  if (preferred * MAX_PARTS >= maxSourceBytes) return { ...base, stepEvery: MAX_PARTS };
  // The slowest growth that still fits: the largest step length whose 10,000 parts hold maxSourceBytes.
  let lo = 1;
  let hi = MAX_PARTS;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (capacity({ ...base, stepEvery: mid }) >= maxSourceBytes) lo = mid;
    else hi = mid - 1;
  }
  const plan = { ...base, stepEvery: lo };
  if (capacity(plan) >= maxSourceBytes) return plan;
  // Doubling from the preferred size cannot get there (maximum within ~2 % of 10,000 × 5 GiB): use
  // constant parts of the size the maximum needs.
  const partSize = Math.min(MAX_PART_SIZE, Math.ceil(maxSourceBytes / MAX_PARTS / MiB) * MiB);
  return { ...base, initialPartSize: partSize, stepEvery: MAX_PARTS };
}

/** Size of part `partNumber` (1-based) before any end-of-source truncation. */
function nominalSize(plan: PartPlan, partNumber: number): number {
  if (plan.kind === 'fixed') return plan.partSize;
  const step = Math.floor((partNumber - 1) / plan.stepEvery);
  return Math.min(plan.maxPartSize, plan.initialPartSize * 2 ** Math.min(step, 40));
}

/** Offset of part `partNumber`, in O(number of steps). */
function offsetOf(plan: PartPlan, partNumber: number): number {
  if (plan.kind === 'fixed') return (partNumber - 1) * plan.partSize;
  let offset = 0;
  let n = 1;
  while (n < partNumber) {
    const stepEnd = Math.min(partNumber, (Math.floor((n - 1) / plan.stepEvery) + 1) * plan.stepEvery + 1);
    offset += (stepEnd - n) * nominalSize(plan, n);
    n = stepEnd;
  }
  return offset;
}

/** Bytes the plan can hold in 10,000 parts. */
export function capacity(plan: PartPlan): number {
  if (plan.kind === 'fixed') return plan.partSize * MAX_PARTS;
  return offsetOf(plan, MAX_PARTS + 1);
}

/** Number of parts for a known size (0 bytes → one empty part); null for unknown size. */
export function partCount(plan: PartPlan): number | null {
  if (plan.kind === 'growing') return null;
  return Math.max(1, Math.ceil(plan.totalSize / plan.partSize));
}

/**
 * The part `partNumber` covers: offset and size. For a fixed plan the last part is truncated to the
 * total size; for a growing plan the size is the nominal one (the stream may end inside it).
 */
export function partAt(plan: PartPlan, partNumber: number): PlannedPart {
  if (!Number.isSafeInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
    throw new RangeError(`part number ${partNumber} outside 1..${MAX_PARTS}`);
  }
  const offset = offsetOf(plan, partNumber);
  let size = nominalSize(plan, partNumber);
  if (plan.kind === 'fixed') {
    const count = partCount(plan) ?? 1;
    if (partNumber > count) throw new RangeError(`part ${partNumber} is past the last part (${count})`);
    size = Math.min(size, plan.totalSize - offset);
  }
  return { partNumber, offset, size };
}

/** Largest part any part of the plan can have: the buffer size the pool needs at most. */
export function largestPartSize(plan: PartPlan): number {
  if (plan.kind === 'fixed') return Math.min(plan.partSize, plan.totalSize);
  return nominalSize(plan, MAX_PARTS);
}
