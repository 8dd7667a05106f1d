import {
  type CompletedObject,
  CredentialsExpiredError,
  type MediaSpec,
  NetworkError,
  type PartBody,
  type PrepareOptions,
  type StorageTarget,
  TimeoutError,
  throwIfAborted,
  type UploadDestination,
  type UploadedPart,
  type UploadPartOptions,
  ValidationError,
  VodError,
} from '@mediaferry/core';
import { CredentialRefresher } from './credential-refresher.js';
import { type AliyunLogger, silentLogger } from './logger.js';
import { createStsOssClient, type OssClientHandle, type OssClientOptions } from './oss-client.js';
import { type OssClientProvider, OssMultipartObject, type OssMultipartOptions } from './oss-multipart.js';
import type { UploadAddress } from './upload-auth.js';
import type { VodClient } from './vod-client.js';
import { isVodNotFound } from './vod-errors.js';
import { deleteVodMedia } from './vod-media-delete.js';
import { attachedInput, imageInput, videoInput } from './vod-media-input.js';
import { callerReferenceId, isReferenceConflict, vodReferenceId } from './vod-reference-id.js';
import type { UploadTicket } from './vod-types.js';

/**
 * A multipart upload into a VOD media. `prepare()` creates the media (CreateUploadVideo /
 * CreateUploadImage / CreateUploadAttachedMedia) or reattaches to the one in a checkpoint; the STS
 * credential is then refreshed single-flight, ahead of expiry and on an expired-token answer, after
 * which the failed operation is repeated once at once. An expired token never restarts a video upload.
 *
 * Video/audio media carry a ReferenceId (the job's, else derived from the upload key), so a Create…
 * whose answer was lost is found again (GetVideoInfos) instead of created twice (review F4).
 *
 * Image and attached media: VOD cannot refresh their credentials. The first credential is used while
 * valid (VOD issues 3000 s, plenty for such small files). When it has expired, operations throw
 * `CredentialsExpiredError` with `details.refreshable === false`, and `prepare({existing})` creates a
 * NEW media (the old one, which never received its file, is left as is and logged) and returns its
 * destination: a destination that differs from `existing` (mediaId / objectKey) means the checkpoint's
 * upload is void and the upload restarts from byte 0. The same holds for a reattach from another
 * process, which never has the first credential.
 */

export interface VodCredentialRefreshEvent {
  mediaId: string;
  reason: 'ahead-of-expiry' | 'expired' | 'reattach';
  /** Credential generation now in use (1 = the one from Create…). */
  generation: number;
}

export interface VodStorageTargetOptions extends OssMultipartOptions {
  vod: VodClient;
  media: MediaSpec;
  client?: OssClientOptions;
  /** @defaultValue `min(5 min, 10% of the credential's lifetime)` */
  refreshAheadMs?: (lifetimeMs: number) => number;
  logger?: AliyunLogger;
  /** Every credential refresh (for `mediaferry_credential_refreshes_total`). */
  onCredentialRefresh?: (event: VodCredentialRefreshEvent) => void;
}

interface Session {
  destination: UploadDestination;
  object: OssMultipartObject;
  refresher: CredentialRefresher<OssClientHandle>;
  /** False once OSS refused a credential that cannot be refreshed (image/attached). */
  usable: boolean;
}

function sameObject(a: UploadDestination, b: UploadDestination): boolean {
  return a.mediaId === b.mediaId && a.bucket === b.bucket && a.objectKey === b.objectKey;
}

export class VodStorageTarget implements StorageTarget {
  readonly #options: VodStorageTargetOptions;
  readonly #logger: AliyunLogger;
  #session: Session | null = null;
  /** Media this target created or found with a ReferenceId: another run finds them again. */
  readonly #findable = new Set<string>();

  constructor(options: VodStorageTargetOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  get mediaType(): MediaSpec['type'] {
    return this.#options.media.type;
  }

  /** The destination in use, or null before `prepare()`. */
  get destination(): UploadDestination | null {
    return this.#session ? { ...this.#session.destination } : null;
  }

  /** Successful credential refreshes (not counting Create… or a reattach); see `StorageTarget`. */
  get credentialRefreshes(): number {
    return this.#session?.refresher.refreshCount ?? 0;
  }

  async prepare(options: PrepareOptions): Promise<UploadDestination> {
    throwIfAborted(options.signal);
    const { existing } = options;
    const type = this.#options.media.type;
    if (existing && existing.mediaType !== type) {
      throw new ValidationError(
        `Checkpoint media type ${existing.mediaType} does not match the job's ${type}`,
      );
    }
    const session = this.#session;
    if (!existing) {
      // Idempotent: a second prepare() on the same target never creates a second media.
      if (session) return { ...session.destination };
    } else if (
      session?.usable &&
      sameObject(session.destination, existing) &&
      !session.refresher.isExpired()
    ) {
      return { ...session.destination };
    }

    const isVideo = type === 'video' || type === 'audio';
    if (existing && isVideo) {
      if (!existing.mediaId) throw new ValidationError('A VOD checkpoint destination needs a mediaId');
      return this.#reattachVideo(existing.mediaId, existing, options);
    }

    const referenceId = this.#referenceId(options);
    if (!existing && referenceId && options.createAttempted) {
      // An earlier Create… may have created the media unseen: find it by our ReferenceId first.
      const found = await this.#findByReference(referenceId, options.signal);
      if (found) return this.#reattachVideo(found, null, options, true);
    }
    let created: { ticket: UploadTicket; url: string | null };
    try {
      created = await this.#create(options, referenceId);
    } catch (err) {
      const found = await this.#afterCreateFailed(err, referenceId, options);
      if (found) return this.#reattachVideo(found, null, options, true);
      throw err;
    }
    const { ticket, url } = created;
    if (referenceId) this.#findable.add(ticket.mediaId);
    const destination: UploadDestination = {
      mediaId: ticket.mediaId,
      mediaType: type,
      bucket: ticket.address.bucket,
      objectKey: ticket.address.objectKey,
      url,
    };
    if (existing) {
      this.#logger.warn(
        { previousMediaId: existing.mediaId, mediaId: ticket.mediaId, mediaType: type },
        'VOD cannot refresh image/attached upload credentials: created a new media, the upload restarts',
      );
    }
    this.#start(ticket, destination, options.contentType);
    return { ...destination };
  }

  initMultipart(signal?: AbortSignal): Promise<string> {
    return this.#object().initMultipart(signal);
  }

  uploadPart(
    uploadId: string,
    partNumber: number,
    body: Uint8Array | PartBody,
    options?: UploadPartOptions,
  ): Promise<UploadedPart> {
    return this.#object().uploadPart(uploadId, partNumber, body, options);
  }

  listParts(uploadId: string, signal?: AbortSignal): Promise<UploadedPart[]> {
    return this.#object().listParts(uploadId, signal);
  }

  complete(uploadId: string, parts: UploadedPart[], signal?: AbortSignal): Promise<CompletedObject> {
    return this.#object().complete(uploadId, parts, signal);
  }

  abort(uploadId: string, signal?: AbortSignal): Promise<void> {
    return this.#object().abort(uploadId, signal);
  }

  head(signal?: AbortSignal): Promise<CompletedObject | null> {
    return this.#object().head(signal);
  }

  putObject(body: Uint8Array, options?: UploadPartOptions): Promise<CompletedObject> {
    return this.#object().putObject(body, options);
  }

  /**
   * Video/audio: one GetVideoInfo to confirm VOD registered the upload; `UploadFail` is a fatal
   * `VodError`, any other status (VOD may still say `Uploading` for a moment on the cloud) passes.
   * Image/attached: nothing to do, VOD registers them on its own.
   */
  async finalize(signal?: AbortSignal): Promise<void> {
    const session = this.#requireSession();
    const mediaId = session.destination.mediaId;
    if (mediaId === null || (this.mediaType !== 'video' && this.mediaType !== 'audio')) return;
    const { video } = await this.#options.vod.getVideoInfo(mediaId, { signal });
    this.#logger.debug?.({ mediaId, status: video.status }, 'VOD media status after complete');
    if (video.status === 'UploadFail') {
      throw new VodError(`VOD marked media ${mediaId} as UploadFail`, {
        status: 409,
        vodCode: 'UploadFail',
        details: { mediaId },
      });
    }
  }

  /** True for a video/audio media created or found here by ReferenceId (see `StorageTarget.isFindable`). */
  isFindable(destination: UploadDestination): boolean {
    return destination.mediaId !== null && this.#findable.has(destination.mediaId);
  }

  /**
   * Reattaches to a checkpoint's media to abort its multipart upload, never creating one. Video/audio:
   * RefreshUploadVideo (false when the media is gone or VOD moved its address). Image/attached: only
   * the session that created the media holds a credential for it; without it, false (their upload
   * stays in VOD's bucket until VOD's lifecycle removes it).
   */
  async reattachForCleanup(destination: UploadDestination, signal?: AbortSignal): Promise<boolean> {
    throwIfAborted(signal);
    const session = this.#session;
    if (session?.usable && sameObject(session.destination, destination) && !session.refresher.isExpired())
      return true;
    const type = this.#options.media.type;
    if ((type !== 'video' && type !== 'audio') || destination.mediaType !== type || !destination.mediaId) {
      this.#logger.warn(
        { mediaId: destination.mediaId, mediaType: destination.mediaType },
        'no credential for this media upload: its multipart upload cannot be aborted from here',
      );
      return false;
    }
    let ticket: UploadTicket;
    try {
      ticket = await this.#options.vod.refreshUploadVideo(destination.mediaId, { signal });
    } catch (err) {
      if (!isVodNotFound(err)) throw err;
      return false; // the media (and with it its uploads) is gone
    }
    const current = { ...destination, bucket: ticket.address.bucket, objectKey: ticket.address.objectKey };
    if (!sameObject(current, destination)) return false;
    this.#start(ticket, current, null);
    return true;
  }

  /**
   * Deletes a media this upload created (a canceled upload's, or one replaced because its credential
   * expired): DeleteVideo, DeleteImage or DeleteAttachedMedia, each removing the media, its file and
   * its pending uploads; an unknown id counts as deleted.
   */
  async discard(destination: UploadDestination, signal?: AbortSignal): Promise<void> {
    const mediaId = destination.mediaId;
    if (!mediaId) return;
    await deleteVodMedia(this.#options.vod, destination.mediaType, mediaId, { signal });
    this.#logger.info({ mediaId, mediaType: destination.mediaType }, 'VOD media deleted');
    if (this.#session && sameObject(this.#session.destination, destination)) this.#session.usable = false;
  }

  /** The ReferenceId a video/audio media is created with: the caller's, else one from the upload key. */
  #referenceId(options: PrepareOptions): string | undefined {
    const media = this.#options.media;
    if (media.type !== 'video' && media.type !== 'audio') return undefined;
    if (media.referenceId !== undefined) return media.referenceId;
    return options.uploadKey === undefined ? undefined : vodReferenceId(options.uploadKey);
  }

  /**
   * The id of the media created with `referenceId`, when it still waits for its file (`Uploading`).
   * A media past that is not an unfinished attempt of ours: taking it over would overwrite a file.
   */
  async #findByReference(referenceId: string, signal: AbortSignal | undefined): Promise<string | null> {
    const { videos } = await this.#options.vod.getVideoInfosByReferenceIds([referenceId], { signal });
    const video = videos.find((v) => v.referenceId === referenceId) ?? videos[0];
    if (!video) return null;
    if (video.status !== 'Uploading') {
      throw new VodError(
        `VOD media ${video.videoId} already has ReferenceId ${referenceId} and is ${video.status}`,
        { status: 409, vodCode: 'ReferenceIdInUse', details: { mediaId: video.videoId, referenceId } },
      );
    }
    this.#logger.info({ mediaId: video.videoId, referenceId }, 'found the media of an earlier VOD Create…');
    return video.videoId;
  }

  /** After a failed Create…: the media to reattach to, or null to rethrow `err`. */
  async #afterCreateFailed(
    err: unknown,
    referenceId: string | undefined,
    options: PrepareOptions,
  ): Promise<string | null> {
    const type = this.#options.media.type;
    if (referenceId && isReferenceConflict(err)) {
      // The ReferenceId is taken. Ours (derived from the upload key, or a retry of our own call): the
      // media an earlier attempt created. A caller's on a first attempt: not ours to take over.
      const ours = options.createAttempted === true || referenceId !== callerReferenceId(this.#options.media);
      return ours ? this.#findByReference(referenceId, options.signal) : null;
    }
    if (err instanceof NetworkError || err instanceof TimeoutError) {
      // The request may have reached VOD and created a media. Video/audio: the retry (with
      // `createAttempted`) finds it by ReferenceId; image/attached have none, so name it.
      this.#logger.warn(
        {
          mediaType: type,
          title: this.#options.media.title ?? options.fileName,
          referenceId,
          err: err.message,
        },
        referenceId
          ? 'VOD Create… answer lost: a retry looks the media up by ReferenceId'
          : 'VOD Create… answer lost: an empty media may have been created',
      );
    }
    return null;
  }

  /** Reattaches to video/audio `mediaId` (RefreshUploadVideo): from a checkpoint, or found by ReferenceId. */
  async #reattachVideo(
    mediaId: string,
    existing: UploadDestination | null,
    options: PrepareOptions,
    findable = false,
  ): Promise<UploadDestination> {
    if (findable) this.#findable.add(mediaId);
    const ticket = await this.#options.vod.refreshUploadVideo(mediaId, { signal: options.signal });
    const destination: UploadDestination = {
      mediaId,
      mediaType: this.#options.media.type,
      url: null,
      ...existing,
      bucket: ticket.address.bucket,
      objectKey: ticket.address.objectKey,
    };
    if (existing && !sameObject(destination, existing)) {
      this.#logger.warn(
        { mediaId, bucket: destination.bucket, objectKey: destination.objectKey },
        'VOD moved the upload address on reattach; the previous multipart upload is void',
      );
    }
    this.#start(ticket, destination, options.contentType);
    this.#options.onCredentialRefresh?.({ mediaId: ticket.mediaId, reason: 'reattach', generation: 1 });
    return { ...destination };
  }

  async #create(
    options: PrepareOptions,
    referenceId: string | undefined,
  ): Promise<{ ticket: UploadTicket; url: string | null }> {
    const { vod, media } = this.#options;
    const call = { signal: options.signal };
    switch (media.type) {
      case 'video':
      case 'audio': {
        const input = videoInput(media, options.fileName, options.size);
        if (referenceId !== undefined) input.referenceId = referenceId;
        return { ticket: await vod.createUploadVideo(input, call), url: null };
      }
      case 'image': {
        const res = await vod.createUploadImage(imageInput(media, options.fileName), call);
        return { ticket: res, url: res.imageUrl ?? res.fileUrl };
      }
      case 'attached': {
        const res = await vod.createUploadAttachedMedia(
          attachedInput(media, options.fileName, options.size),
          call,
        );
        return { ticket: res, url: res.mediaUrl ?? res.fileUrl };
      }
    }
  }

  #start(ticket: UploadTicket, destination: UploadDestination, contentType: string | null): void {
    const clientOptions = this.#options.client;
    const address: UploadAddress = {
      endpoint: ticket.address.endpoint,
      bucket: destination.bucket,
      objectKey: destination.objectKey,
    };
    const refreshable = this.mediaType === 'video' || this.mediaType === 'audio';
    const mediaId = ticket.mediaId;
    const refresher = new CredentialRefresher<OssClientHandle>(
      createStsOssClient(address, ticket.credentials, clientOptions),
      {
        expiresAt: (handle) => handle.expiresAt,
        ...(this.#options.refreshAheadMs ? { refreshAheadMs: this.#options.refreshAheadMs } : {}),
        fetch: async (reason) => {
          if (!refreshable) {
            if (reason === 'expired' && this.#session?.refresher === refresher) this.#session.usable = false;
            throw new CredentialsExpiredError(
              `VOD cannot refresh upload credentials of ${this.mediaType} media ${mediaId}; prepare again for a new media`,
              { details: { mediaId, mediaType: this.mediaType, refreshable: false } },
            );
          }
          const fresh = await this.#options.vod.refreshUploadVideo(mediaId);
          if (fresh.address.bucket !== address.bucket || fresh.address.objectKey !== address.objectKey) {
            // The multipart upload in flight belongs to the first address: keep it.
            this.#logger.warn(
              { mediaId },
              'RefreshUploadVideo returned another address; keeping the original',
            );
          }
          return createStsOssClient(
            { ...address, endpoint: fresh.address.endpoint },
            fresh.credentials,
            clientOptions,
          );
        },
        onRefresh: (event) => {
          this.#logger.info({ mediaId, ...event }, 'Refreshed VOD upload credentials');
          this.#options.onCredentialRefresh?.({
            mediaId,
            reason: event.reason,
            generation: event.generation,
          });
        },
      },
    );
    const provider: OssClientProvider = {
      acquire: async (signal) => {
        const lease = await refresher.acquire(signal);
        return { handle: lease.value, generation: lease.generation };
      },
      renew: async (generation, signal) => {
        const lease = await refresher.refresh(generation, 'expired', signal);
        return { handle: lease.value, generation: lease.generation };
      },
    };
    const object = new OssMultipartObject(provider, destination.objectKey, this.#options);
    object.contentType = contentType;
    this.#session = { destination, object, refresher, usable: true };
  }

  #requireSession(): Session {
    if (!this.#session) throw new Error('VodStorageTarget: call prepare() first');
    return this.#session;
  }

  #object(): OssMultipartObject {
    return this.#requireSession().object;
  }
}
