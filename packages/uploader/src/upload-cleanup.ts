import { NoSuchUploadError, type StorageTarget } from '@mediaferry/core';
import type { Checkpoint } from './checkpoint-store.js';
import { combineCrc, coversSource } from './resume.js';
import type { EngineLogger } from './upload-engine.options.js';

export interface CleanupOptions {
  /** Runs one target operation with the engine's retries. */
  retrying: <T>(what: string, op: (signal: AbortSignal) => Promise<T>) => Promise<T>;
  log: (level: keyof EngineLogger, fields: object, msg: string) => void;
  /** A cancel: also delete what the upload created (see `StorageTarget.discard`). */
  removeCreated: boolean;
}

/**
 * Cleans up the upload a checkpoint describes, never creating a media on the way (a cancel, a source
 * that changed): reattaches for cleanup only, aborts the multipart upload, and on a cancel deletes the
 * VOD media, or a plain OSS object whose CRC-64 proves it is this upload's (it completed just before
 * the cancel, or its engine stopped before dropping the checkpoint).
 */
export async function cleanUpUpload(cp: Checkpoint, target: StorageTarget, o: CleanupOptions): Promise<void> {
  const { destination, uploadId } = cp;
  if (!destination) return;
  const reachable = target.reattachForCleanup
    ? await o.retrying('reattach for cleanup', (s) => target.reattachForCleanup!(destination, s))
    : await o
        .retrying('prepare for cleanup', (s) =>
          target.prepare({
            existing: destination,
            fileName: cp.fileName,
            contentType: cp.contentType,
            size: cp.totalSize,
            signal: s,
          }),
        )
        .then(() => true);
  if (uploadId && reachable) {
    try {
      await o.retrying('abort', (s) => target.abort(uploadId, s));
    } catch (err) {
      if (!(err instanceof NoSuchUploadError)) throw err;
    }
  } else if (uploadId) {
    o.log(
      'warn',
      { uploadId, objectKey: destination.objectKey },
      'multipart upload left behind: no credential',
    );
  }
  if (!o.removeCreated || !target.discard) return;
  if (destination.mediaId !== null) {
    await o.retrying('delete media', (s) => target.discard!(destination, s));
    o.log('info', { mediaId: destination.mediaId }, 'media of the canceled upload deleted');
    return;
  }
  if (!reachable || !coversSource(cp.plan, cp.parts, cp.streamParts)) return;
  const head = await o.retrying('head', (s) => target.head(s));
  const size = cp.parts.reduce((n, p) => n + p.size, 0);
  if (head?.crc64 !== combineCrc(cp.parts).toString() || (head.size !== null && head.size !== size)) return;
  await o.retrying('delete object', (s) => target.discard!(destination, s));
  o.log('warn', { objectKey: destination.objectKey }, 'upload completed despite the cancel: object deleted');
}
