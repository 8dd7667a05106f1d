import type { UploadedPart } from '@mediaferry/core';
import { crc64Combine } from '@mediaferry/crc64';
import type { CheckpointPart } from './checkpoint-store.js';
import { type PartPlan, partAt, partCount } from './part-planner.js';

export type DropReason = 'missing-on-server' | 'etag-differs' | 'size-differs' | 'off-plan';

export interface Reconciliation {
  /** Checkpoint parts the server holds as recorded: skipped this run. */
  kept: CheckpointPart[];
  /** Checkpoint parts to upload again, and why. */
  dropped: { partNumber: number; reason: DropReason }[];
  /** Server parts the checkpoint does not know (uploaded, then the engine stopped before recording them). */
  unrecorded: number[];
}

/** ETags compare without quotes and case (OSS returns `"HEX"`; clients may strip the quotes). */
export function sameEtag(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toUpperCase();
  return norm(a) === norm(b);
}

/** Whether a recorded part sits where the plan puts it (a final short part only for a stream). */
function onPlan(plan: PartPlan, part: CheckpointPart): boolean {
  const count = partCount(plan);
  if (count !== null && part.partNumber > count) return false;
  const planned = partAt(plan, part.partNumber);
  if (planned.offset !== part.offset) return false;
  return plan.kind === 'fixed' ? planned.size === part.size : part.size <= planned.size;
}

/**
 * Resume reconciliation; the server is the truth. A part is skipped only when the checkpoint recorded it
 * (with its CRC) and ListParts shows the same ETag and size. A part the server holds but the checkpoint
 * lacks is uploaded again rather than adopted: its CRC is unknown, and reading it back from the source
 * to learn it costs the same source I/O as re-uploading it; at most `parallelism` parts are in that
 * state after a crash, so the re-uploaded bytes stay ≤ parallelism × part size.
 */
export function reconcile(
  plan: PartPlan,
  recorded: CheckpointPart[],
  server: UploadedPart[],
): Reconciliation {
  const onServer = new Map(server.map((p) => [p.partNumber, p]));
  const kept: CheckpointPart[] = [];
  const dropped: Reconciliation['dropped'] = [];
  for (const part of recorded) {
    const remote = onServer.get(part.partNumber);
    if (!onPlan(plan, part)) dropped.push({ partNumber: part.partNumber, reason: 'off-plan' });
    else if (!remote) dropped.push({ partNumber: part.partNumber, reason: 'missing-on-server' });
    else if (!sameEtag(remote.etag, part.etag))
      dropped.push({ partNumber: part.partNumber, reason: 'etag-differs' });
    else if (remote.size !== part.size) dropped.push({ partNumber: part.partNumber, reason: 'size-differs' });
    else kept.push(part);
  }
  // A stream's short (final) part ends the stream: parts recorded after it cannot be right.
  if (plan.kind === 'growing') {
    const short = kept.find((p) => p.size < partAt(plan, p.partNumber).size);
    if (short) {
      for (const p of kept.filter((q) => q.partNumber > short.partNumber)) {
        dropped.push({ partNumber: p.partNumber, reason: 'off-plan' });
      }
      kept.splice(kept.indexOf(short) + 1);
    }
  }
  const known = new Set(recorded.map((p) => p.partNumber));
  const unrecorded = server.filter((p) => !known.has(p.partNumber)).map((p) => p.partNumber);
  return { kept, dropped, unrecorded };
}

/**
 * Whether `parts` (ascending) are the complete object: all planned parts for a known size; for a stream,
 * 1..n contiguous and either `streamParts` of them (its end was seen and recorded) or ending in a short
 * part (a stream that ended on a boundary cannot be told apart from one that has more by its parts).
 */
export function coversSource(plan: PartPlan, parts: CheckpointPart[], streamParts?: number): boolean {
  if (parts.length === 0) return false;
  for (let i = 0; i < parts.length; i++) if (parts[i]!.partNumber !== i + 1) return false;
  const count = partCount(plan) ?? streamParts ?? null;
  if (count !== null) return parts.length === count;
  const last = parts[parts.length - 1]!;
  return last.size < partAt(plan, last.partNumber).size;
}

/** CRC-64 of the whole object from its parts' CRCs (ascending, contiguous). */
export function combineCrc(parts: readonly { size: number; crc64: string }[]): bigint {
  let crc = 0n;
  for (const p of parts) crc = crc64Combine(crc, BigInt(p.crc64), p.size);
  return crc;
}
