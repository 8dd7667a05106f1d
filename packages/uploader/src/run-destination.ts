import { CredentialsExpiredError, type StorageTarget, type UploadDestination } from '@mediaferry/core';
import type { Checkpoint, CheckpointStore } from './checkpoint-store.js';
import type { EngineLogger } from './upload-engine.options.js';

/** Margin for the clock of the storage service against ours when matching upload start times. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** Replacements of the destination within one run: a target replacing it more often is broken. */
const MAX_REPLACEMENTS = 2;

export function sameDestination(a: UploadDestination, b: UploadDestination): boolean {
  return a.mediaId === b.mediaId && a.bucket === b.bucket && a.objectKey === b.objectKey;
}

/** A credential only a new destination replaces (`CredentialsExpiredError`, `refreshable: false`). */
export function isUnrefreshableExpiry(err: unknown): boolean {
  return err instanceof CredentialsExpiredError && err.details?.refreshable === false;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export interface RunDestinationOptions {
  target: StorageTarget;
  /** The run's checkpoint store (its calls end with the run's signal). */
  store: CheckpointStore;
  uploadKey: string;
  owner: string;
  signal: AbortSignal;
  /** Runs one target operation with the engine's retries. */
  retrying: <T>(what: string, op: (signal: AbortSignal) => Promise<T>) => Promise<T>;
  log: (level: keyof EngineLogger, fields: object, msg: string) => void;
}

/**
 * The destination of one run and what happens to it beyond `prepare()`: replaced when the target had to
 * create a new one (a VOD image/attached credential cannot be refreshed), the replaced media deleted, and
 * uploads an earlier attempt started but never recorded aborted. Nothing is left behind.
 */
export class RunDestination {
  readonly #o: RunDestinationOptions;
  /** The destination in use (set once prepared). */
  current: UploadDestination | null = null;
  /** Destinations replaced within this run. */
  replacements = 0;

  constructor(options: RunDestinationOptions) {
    this.#o = options;
  }

  /** Whether `err` calls for a new destination now, within the run. */
  canReplace(err: unknown): boolean {
    return isUnrefreshableExpiry(err) && this.replacements < MAX_REPLACEMENTS;
  }

  /**
   * Aborts the uploads at the destination's key that an earlier attempt of this upload initiated but
   * never recorded (it was killed in between): those started since the checkpoint was created (less
   * a clock-skew margin). Only targets that can list uploads (plain OSS); failures are logged.
   */
  async abortUnrecorded(cp: Checkpoint): Promise<void> {
    const { target } = this.#o;
    if (!target.listUploads) return;
    try {
      const open = await this.#o.retrying('list uploads', (s) => target.listUploads!(s));
      const since = cp.createdAt - CLOCK_SKEW_MS;
      for (const u of open) {
        if (u.initiated !== null && u.initiated.getTime() < since) continue;
        await this.#o.retrying('abort', (s) => target.abort(u.uploadId, s));
        this.#o.log(
          'warn',
          { uploadId: u.uploadId },
          'aborted a multipart upload an earlier attempt left unrecorded',
        );
      }
    } catch (err) {
      if (this.#o.signal.aborted) throw err;
      this.#o.log('warn', { err: describe(err) }, 'could not look for unrecorded multipart uploads');
    }
  }

  /** `prepare({existing})` after an unrefreshable expiry; the checkpoint moved to what it returns. */
  async prepareAgain(cp: Checkpoint, cause: unknown): Promise<Checkpoint> {
    this.replacements++;
    const old = this.current!;
    const { target, uploadKey } = this.#o;
    this.#o.log(
      'warn',
      { mediaId: old.mediaId, err: describe(cause) },
      'credential cannot be refreshed; preparing again',
    );
    const next = await this.#o.retrying('prepare', (s) =>
      target.prepare({
        existing: old,
        uploadKey,
        fileName: cp.fileName,
        contentType: cp.contentType,
        size: cp.totalSize,
        signal: s,
      }),
    );
    if (sameDestination(old, next)) throw cause; // the target could not do better: the next attempt will
    const replaced = await this.replace(cp, old, next);
    this.current = next;
    return replaced;
  }

  /**
   * Points the checkpoint at `next` (no parts, no upload), then cleans up `old`: its media is deleted
   * (VOD deletes its file and pending uploads with it) and logged; a multipart upload that no
   * credential can reach any more is logged as left to the service.
   */
  async replace(cp: Checkpoint, old: UploadDestination, next: UploadDestination): Promise<Checkpoint> {
    const { target, uploadKey } = this.#o;
    this.#o.log(
      'warn',
      { from: old.objectKey, to: next.objectKey, fromMedia: old.mediaId, toMedia: next.mediaId },
      'destination replaced',
    );
    await this.#o.store.update(
      uploadKey,
      this.#o.owner,
      { destination: next, uploadId: null },
      { clearParts: true },
    );
    if (old.mediaId !== null && old.mediaId !== next.mediaId && target.discard) {
      try {
        await this.#o.retrying('delete replaced media', (s) => target.discard!(old, s));
        this.#o.log(
          'info',
          { mediaId: old.mediaId, uploadId: cp.uploadId },
          'replaced media deleted with its upload',
        );
      } catch (err) {
        this.#o.log(
          'warn',
          { mediaId: old.mediaId, err: describe(err) },
          'could not delete the replaced media',
        );
      }
    } else if (cp.uploadId) {
      this.#o.log(
        'warn',
        { uploadId: cp.uploadId, objectKey: old.objectKey },
        'multipart upload of the old address left behind',
      );
    }
    return { ...cp, destination: next, uploadId: null, parts: [] };
  }
}
