import type { UploadDestination } from '@mediaferry/core';
import type { PartPlan } from './part-planner.js';

/** One part the server acknowledged, as the checkpoint keeps it. */
export interface CheckpointPart {
  partNumber: number;
  /** First byte of the part in the source. */
  offset: number;
  size: number;
  /** ETag as the server returned it (quotes included). */
  etag: string;
  /** CRC-64/XZ of the part, unsigned decimal. */
  crc64: string;
}

/** What an upload needs to be resumed by any engine, in any process. */
export interface UploadState {
  /** Source identity when the upload started; a different one on resume means SOURCE_CHANGED. */
  fingerprint: string;
  /** Source size, or null when unknown. */
  totalSize: number | null;
  fileName: string;
  contentType: string | null;
  plan: PartPlan;
  /** Set once `target.prepare()` created the media / object key. */
  destination: UploadDestination | null;
  /** Set once the multipart upload exists. */
  uploadId: string | null;
  /** ms since epoch. */
  createdAt: number;
  /**
   * While `destination` is null: when (ms since epoch) the owner started creating it (the VOD media).
   * Other runs wait for it (see `ClaimOptions`) instead of creating a second media; a checkpoint found
   * with this set and no destination means a Create… may have happened whose answer was lost.
   */
  preparingSince?: number;
  /**
   * A stream's part count, recorded once its end was seen: a stream that ended exactly on a part
   * boundary cannot be told complete from its parts alone (its last part is full).
   */
  streamParts?: number;
}

export interface ClaimOptions {
  /**
   * Respect the preparing lease: while the checkpoint has no destination and another owner started
   * preparing less than `leaseMs` before `now`, it is not claimed and is returned as it is (its `owner`
   * unchanged). A claim of a checkpoint without destination starts the claimant's lease at `now`.
   * Without it (a cancel), the claim always succeeds.
   */
  preparingLease?: { now: number; leaseMs: number };
}

export interface Checkpoint extends UploadState {
  uploadKey: string;
  /** Token of the engine run that owns the upload; only the owner may write. */
  owner: string;
  /** Recorded parts, ascending by part number. */
  parts: CheckpointPart[];
}

/** Fields an owner may change after creation (`preparingSince: null` clears the lease). */
export type UploadStatePatch = Partial<Pick<UploadState, 'destination' | 'uploadId' | 'streamParts'>> & {
  preparingSince?: number | null;
};

/**
 * Where upload checkpoints live (Redis in production, memory in unit tests). Every write but `create`
 * and `claim` is conditional on the owner token, atomically: a writer that lost ownership (or whose
 * checkpoint was deleted by a cancel) gets `OwnershipLostError` and must stop. Parts are recorded one
 * by one as they complete, in any order.
 */
export interface CheckpointStore {
  /** The checkpoint, or null. */
  get(uploadKey: string): Promise<Checkpoint | null>;
  /** Creates the checkpoint owned by `owner` with no parts, unless one exists: true when created. */
  create(uploadKey: string, owner: string, state: UploadState): Promise<boolean>;
  /**
   * Makes `owner` the owner (the newest claimant wins) and returns the checkpoint; null if none. With
   * `preparingLease`, a checkpoint whose destination another run is still creating is returned
   * unclaimed (its `owner` is not `owner`).
   */
  claim(uploadKey: string, owner: string, options?: ClaimOptions): Promise<Checkpoint | null>;
  /**
   * Sets fields if `owner` still owns the checkpoint; `clearParts` drops every recorded part in the
   * same step (a new multipart upload). @throws OwnershipLostError
   */
  update(
    uploadKey: string,
    owner: string,
    patch: UploadStatePatch,
    options?: { clearParts?: boolean },
  ): Promise<void>;
  /** Records (or replaces) one part if `owner` still owns the checkpoint. @throws OwnershipLostError */
  recordPart(uploadKey: string, owner: string, part: CheckpointPart): Promise<void>;
  /** Throws OwnershipLostError unless `owner` owns the checkpoint. */
  assertOwner(uploadKey: string, owner: string): Promise<void>;
  /** Deletes the checkpoint; with `owner`, only if that owner still holds it. True when deleted. */
  delete(uploadKey: string, owner?: string): Promise<boolean>;
}

/** Just the `UploadState` fields of `value` (a whole `Checkpoint` may be passed where a state is expected). */
export function pickState(value: UploadState): UploadState {
  const { fingerprint, totalSize, fileName, contentType, plan, destination, uploadId, createdAt } = value;
  const state: UploadState = {
    fingerprint,
    totalSize,
    fileName,
    contentType,
    plan,
    destination,
    uploadId,
    createdAt,
  };
  if (value.preparingSince !== undefined) state.preparingSince = value.preparingSince;
  if (value.streamParts !== undefined) state.streamParts = value.streamParts;
  return state;
}
