import { createHash } from 'node:crypto';
import { type MediaSpec, VodError } from '@mediaferry/core';

/**
 * The ReferenceId mediaferry gives a video/audio media of upload `uploadKey` when the job names none:
 * `mf-<key>` when the key fits VOD's rules (6–64 letters, digits, `-`, `_`), else `mfh-` and 40 hex
 * digits of its SHA-256. Deterministic, so every attempt of one upload uses the same one.
 */
export function vodReferenceId(uploadKey: string): string {
  const plain = `mf-${uploadKey}`;
  if (/^[A-Za-z0-9_-]{6,64}$/.test(plain)) return plain;
  return `mfh-${createHash('sha256').update(uploadKey).digest('hex').slice(0, 40)}`;
}

/**
 * A Create… refused because of its ReferenceId: VOD documents the id as unique per account but not
 * the exact answer; our best knowledge (and the emulator's) is 400 `InvalidParameter`. Any 400
 * InvalidParameter is checked with a lookup, so a differently worded answer is still handled.
 */
export function isReferenceConflict(err: unknown): boolean {
  return err instanceof VodError && err.status === 400 && err.vodCode === 'InvalidParameter';
}

export function callerReferenceId(media: MediaSpec): string | undefined {
  return media.type === 'video' || media.type === 'audio' ? media.referenceId : undefined;
}
