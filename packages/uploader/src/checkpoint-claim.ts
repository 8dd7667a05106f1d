import { OwnershipLostError } from '@mediaferry/core';
import { sleep } from './backoff.js';
import type { Checkpoint, CheckpointStore, UploadState } from './checkpoint-store.js';
import type { EngineLogger } from './upload-engine.options.js';

export interface ClaimOrCreateOptions {
  store: CheckpointStore;
  uploadKey: string;
  owner: string;
  /** See `UploadEngineOptions.prepareLeaseMs`. */
  leaseMs: number;
  signal: AbortSignal;
  now: () => number;
  /** The state of a new checkpoint (its `preparingSince` is set here). */
  initial: (now: number) => UploadState;
  log: (level: keyof EngineLogger, fields: object, msg: string) => void;
}

/**
 * Claims the checkpoint (the run becomes its owner) or creates it. While another run is creating the
 * destination (its preparing lease is fresh), waits for that destination instead of creating a second
 * media; a new checkpoint starts this run's lease.
 */
export async function claimOrCreate(o: ClaimOrCreateOptions): Promise<Checkpoint & { resumed: boolean }> {
  const { store, uploadKey, owner, leaseMs } = o;
  const pollMs = Math.max(20, Math.min(250, leaseMs / 20));
  for (let created = false, waited = false; ; ) {
    const now = o.now();
    const existing = await store.claim(uploadKey, owner, { preparingLease: { now, leaseMs } });
    if (existing?.owner === owner) {
      if (!existing.destination) {
        // An earlier Create… may have succeeded unseen (a lost answer, a crash): prepare() is told
        // (`createAttempted`) so a target that can find it (VOD video/audio, by ReferenceId) reattaches.
        o.log('info', {}, 'resuming before a media was recorded: looking for an earlier one');
      }
      return { ...existing, resumed: true };
    }
    if (existing) {
      if (!waited) o.log('info', {}, 'another run is creating the media: waiting for it');
      waited = true;
      await sleep(pollMs, o.signal);
      continue;
    }
    if (created) throw new OwnershipLostError(`checkpoint ${uploadKey} vanished while starting`);
    const state: UploadState = { ...o.initial(now), preparingSince: now };
    if (await store.create(uploadKey, owner, state)) {
      return { ...state, uploadKey, owner, parts: [], resumed: false };
    }
    created = true; // another engine created it a moment ago: claim it like any resume
  }
}
