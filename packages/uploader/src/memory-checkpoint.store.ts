import { OwnershipLostError } from '@mediaferry/core';
import type {
  Checkpoint,
  CheckpointPart,
  CheckpointStore,
  ClaimOptions,
  UploadState,
  UploadStatePatch,
} from './checkpoint-store.js';
import { pickState } from './checkpoint-store.js';

interface Entry {
  owner: string;
  state: UploadState;
  parts: Map<number, CheckpointPart>;
}

/** In-process checkpoints, for unit tests and single-process tools. Same semantics as the Redis store. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #entries = new Map<string, Entry>();

  async get(uploadKey: string): Promise<Checkpoint | null> {
    const entry = this.#entries.get(uploadKey);
    return entry ? snapshot(uploadKey, entry) : null;
  }

  async create(uploadKey: string, owner: string, state: UploadState): Promise<boolean> {
    if (this.#entries.has(uploadKey)) return false;
    this.#entries.set(uploadKey, { owner, state: structuredClone(pickState(state)), parts: new Map() });
    return true;
  }

  async claim(uploadKey: string, owner: string, options: ClaimOptions = {}): Promise<Checkpoint | null> {
    const entry = this.#entries.get(uploadKey);
    if (!entry) return null;
    const lease = options.preparingLease;
    if (lease && entry.state.destination === null) {
      const since = entry.state.preparingSince;
      if (since !== undefined && entry.owner !== owner && since + lease.leaseMs > lease.now) {
        return snapshot(uploadKey, entry);
      }
      entry.state.preparingSince = lease.now;
    }
    entry.owner = owner;
    return snapshot(uploadKey, entry);
  }

  async update(
    uploadKey: string,
    owner: string,
    patch: UploadStatePatch,
    options: { clearParts?: boolean } = {},
  ): Promise<void> {
    const entry = this.#owned(uploadKey, owner);
    const { preparingSince, ...rest } = structuredClone(patch);
    entry.state = { ...entry.state, ...rest };
    if (preparingSince === null) delete entry.state.preparingSince;
    else if (preparingSince !== undefined) entry.state.preparingSince = preparingSince;
    if (options.clearParts) entry.parts.clear();
  }

  async recordPart(uploadKey: string, owner: string, part: CheckpointPart): Promise<void> {
    this.#owned(uploadKey, owner).parts.set(part.partNumber, { ...part });
  }

  async assertOwner(uploadKey: string, owner: string): Promise<void> {
    this.#owned(uploadKey, owner);
  }

  async delete(uploadKey: string, owner?: string): Promise<boolean> {
    const entry = this.#entries.get(uploadKey);
    if (!entry || (owner !== undefined && entry.owner !== owner)) return false;
    return this.#entries.delete(uploadKey);
  }

  #owned(uploadKey: string, owner: string): Entry {
    const entry = this.#entries.get(uploadKey);
    if (!entry)
      throw new OwnershipLostError(`checkpoint ${uploadKey} is gone (canceled or finished elsewhere)`);
    if (entry.owner !== owner)
      throw new OwnershipLostError(`checkpoint ${uploadKey} was claimed by another engine`);
    return entry;
  }
}

function snapshot(uploadKey: string, entry: Entry): Checkpoint {
  const parts = [...entry.parts.values()].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ ...p }));
  return { ...structuredClone(entry.state), uploadKey, owner: entry.owner, parts };
}
