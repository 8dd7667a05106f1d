import { randomBytes } from 'node:crypto';
import type { MediaSpec } from '@mediaferry/core';
import {
  type ClientUploadServiceDeps,
  type ClientUploadWebhookEvent,
  type CreateClientUploadInput,
  credentialsOf,
  RecordGone,
  type SettleOutcome,
} from './client-upload.service-types.js';
import type { ListOptions } from './client-upload.store.js';
import {
  type ClientUploadRecord,
  type ClientUploadView,
  toClientUploadView,
} from './client-upload-record.js';
import { ClientUploadError } from './errors.js';

export type {
  ClientUploadLogger,
  ClientUploadServiceDeps,
  ClientUploadWebhookEvent,
  CreateClientUploadInput,
  SettleOutcome,
} from './client-upload.service-types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

import { type ClientUploadPolicy, checkStatic, policyFor } from './policy.js';
import type { VodIssue, VodMediaState } from './vod-media.js';

/**
 * Client uploads without HTTP: issue (create, idempotent), reissue (refresh), cancel, and settle an
 * upload from what VOD says about its media (events and the reconciler both end here).
 */
export class ClientUploadService {
  readonly #leaseMs: number;
  readonly #pollMs: number;

  constructor(readonly deps: ClientUploadServiceDeps) {
    this.#leaseMs = deps.leaseMs ?? 30_000;
    this.#pollMs = deps.pollMs ?? 50;
  }

  policy(service: string): ClientUploadPolicy {
    return policyFor(this.deps.policies, service);
  }

  /**
   * A new upload (201) or, for a repeated idempotency key, the same upload with fresh credentials
   * for the same media (200). Every policy check runs before any VOD call.
   */
  async create(
    service: string,
    input: CreateClientUploadInput,
    policy: ClientUploadPolicy = this.policy(service),
    signal?: AbortSignal,
  ): Promise<{ created: boolean; view: ClientUploadView }> {
    checkStatic(policy, input.media, input.fileName, input.fileSize);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#createOnce(service, input, policy, signal);
      } catch (err) {
        // A duplicate that waited on a create whose VOD call failed finds the record gone: start afresh.
        if (!(err instanceof RecordGone) || attempt >= 3)
          throw err instanceof RecordGone ? err.notFound : err;
      }
    }
  }

  async #createOnce(
    service: string,
    input: CreateClientUploadInput,
    policy: ClientUploadPolicy,
    signal?: AbortSignal,
  ): Promise<{ created: boolean; view: ClientUploadView }> {
    const { store } = this.deps;
    const lease = randomBytes(12).toString('hex');
    const now = store.now();
    const result = await store.create({
      service,
      endUserId: input.endUserId ?? null,
      idempotencyKey: input.idempotencyKey ?? null,
      request: [
        input.media,
        input.fileName,
        input.fileSize,
        input.endUserId ?? null,
        input.callbackUrl ?? null,
      ],
      fields: {
        media: input.media,
        fileName: input.fileName,
        fileSize: input.fileSize,
        maxBytes: policy.maxBytes,
        callbackUrl: input.callbackUrl ?? null,
        deadline: now + policy.deadlineSeconds * 1000,
      },
      limits: policy,
      lease: { token: lease, untilMs: now + this.#leaseMs },
    });
    switch (result.outcome) {
      case 'rate':
        throw new ClientUploadError(
          429,
          'RATE_LIMITED',
          `Over ${policy.requestsPerMinute} client-upload requests per minute`,
        );
      case 'open_quota':
        throw new ClientUploadError(429, 'QUOTA_EXCEEDED', 'This end user has too many open uploads', {
          maxOpenPerEndUser: policy.maxOpenPerEndUser,
        });
      case 'bytes_quota':
        throw new ClientUploadError(
          429,
          'QUOTA_EXCEEDED',
          "This upload would exceed the end user's bytes for today",
          {
            maxBytesPerEndUserPerDay: policy.maxBytesPerEndUserPerDay,
          },
        );
      case 'conflict':
        throw new ClientUploadError(409, 'CONFLICT', 'This idempotency key was used for a different upload', {
          clientUploadId: result.id,
        });
      case 'created':
        return { created: true, view: await this.#issueNew(service, result.id, lease, signal) };
      case 'existing':
        return { created: false, view: await this.#repeat(service, result.id, signal) };
    }
  }

  /** Fresh credentials: only the owner, only while issued and before the deadline. */
  async refresh(service: string, id: string, signal?: AbortSignal): Promise<ClientUploadView> {
    const record = await this.getOwned(service, id);
    this.#assertRefreshable(record);
    if (!record.mediaId) {
      return this.#repeat(service, id, signal).catch((err: unknown) => {
        throw err instanceof RecordGone ? err.notFound : err;
      });
    }
    return this.#reissue(record, signal);
  }

  async getOwned(service: string, id: string): Promise<ClientUploadRecord> {
    const record = await this.deps.store.get(service, id);
    if (!record) throw new ClientUploadError(404, 'NOT_FOUND', 'No such client upload');
    return record;
  }

  async list(service: string, options: ListOptions) {
    const page = await this.deps.store.list(service, options);
    return { clientUploads: page.records.map((r) => toClientUploadView(r)), nextCursor: page.nextCursor };
  }

  /** issued → canceled, then the media is deleted in VOD. */
  async cancel(service: string, id: string, signal?: AbortSignal): Promise<ClientUploadView> {
    const record = await this.getOwned(service, id);
    const t = await this.deps.store.transition(service, id, {
      from: ['issued'],
      to: 'canceled',
      fields: { error: JSON.stringify({ code: 'CANCELED', message: 'Canceled by the service' }) },
    });
    if (!t.ok) throw this.#notIssued(t.record ?? record);
    this.deps.onStatus?.('canceled');
    if (t.record.mediaId) await this.#deleteMedia(t.record, t.record.mediaId, signal);
    return toClientUploadView(t.record);
  }

  /**
   * Settles the upload `mediaId` belongs to from VOD's own answer about the media (an event's body
   * is never trusted): completed, rejected (over a limit; media deleted) or still pending.
   */
  async settleMedia(mediaId: string, signal?: AbortSignal): Promise<SettleOutcome> {
    const record = await this.deps.store.byMedia(mediaId);
    if (!record) return 'unknown_media';
    if (record.mediaId !== mediaId || record.status !== 'issued') return 'ignored';
    const state = await this.deps.vod.lookup(record.media.type, mediaId, signal);
    return this.settle(record, state, signal);
  }

  /** Applies VOD's state of the upload's media to its record. */
  async settle(
    record: ClientUploadRecord,
    state: VodMediaState,
    signal?: AbortSignal,
  ): Promise<SettleOutcome> {
    if (!state.uploaded || !record.mediaId) return 'pending';
    const mediaId = record.mediaId;
    const result = {
      mediaId,
      size: state.size,
      fileUrl: state.fileUrl,
      vodStatus: state.status,
      sizeVerified: state.size !== null,
    };
    let error: { code: string; message: string } | null = null;
    if (state.size !== null && state.size > record.maxBytes) {
      error = {
        code: 'FILE_TOO_LARGE',
        message: `The uploaded file has ${state.size} bytes; the limit is ${record.maxBytes}`,
      };
    } else if (state.size !== null && state.size !== record.fileSize) {
      error = {
        code: state.size > record.fileSize ? 'SIZE_EXCEEDED' : 'SIZE_MISMATCH',
        message: `The uploaded file has ${state.size} bytes; ${record.fileSize} were declared`,
      };
    }
    if (state.size === null)
      this.deps.logger.warn(
        { clientUploadId: record.id, mediaId },
        'VOD reported no size; size limits not checked',
      );
    const t = await this.deps.store.transition(record.service, record.id, {
      from: ['issued'],
      to: error ? 'rejected' : 'completed',
      fields: { result: JSON.stringify(result), ...(error ? { error: JSON.stringify(error) } : {}) },
    });
    if (!t.ok) return 'ignored';
    this.deps.onStatus?.(t.record.status);
    this.deps.logger.info(
      { clientUploadId: record.id, mediaId, status: t.record.status, size: state.size },
      'client upload settled',
    );
    if (error) await this.#deleteMedia(t.record, mediaId, signal);
    await this.#notify(error ? 'client_upload.rejected' : 'client_upload.completed', t.record);
    return error ? 'rejected' : 'completed';
  }

  /** Past its deadline without an upload: expired, its empty media deleted. */
  async expire(record: ClientUploadRecord, signal?: AbortSignal): Promise<boolean> {
    const t = await this.deps.store.transition(record.service, record.id, {
      from: ['issued'],
      to: 'expired',
      fields: {
        error: JSON.stringify({
          code: 'DEADLINE_PASSED',
          message: 'No upload completed before the deadline',
        }),
      },
    });
    if (!t.ok) return false;
    this.deps.onStatus?.('expired');
    if (t.record.mediaId) await this.#deleteMedia(t.record, t.record.mediaId, signal);
    await this.#notify('client_upload.expired', t.record);
    return true;
  }

  #assertRefreshable(record: ClientUploadRecord): void {
    if (record.status !== 'issued') throw this.#notIssued(record);
    if (record.deadline <= this.deps.store.now()) {
      throw new ClientUploadError(409, 'DEADLINE_PASSED', 'The upload deadline has passed', {
        deadline: new Date(record.deadline).toISOString(),
      });
    }
  }

  #notIssued(record: ClientUploadRecord): ClientUploadError {
    return new ClientUploadError(409, 'CONFLICT', `The client upload is already ${record.status}`, {
      status: record.status,
    });
  }

  /** The holder of the creation lease asks VOD for the media; a failure leaves nothing behind. */
  async #issueNew(
    service: string,
    id: string,
    lease: string,
    signal?: AbortSignal,
  ): Promise<ClientUploadView> {
    const record = await this.getOwned(service, id);
    let issue: VodIssue;
    try {
      issue = await this.deps.vod.create(
        record.media,
        record.fileName,
        record.fileSize,
        this.#userData(record.media),
        signal,
      );
    } catch (err) {
      await this.deps.store.drop(service, id, lease).catch(() => false);
      throw err;
    }
    await this.deps.store.indexMedia(record, issue.mediaId);
    const t = await this.deps.store.transition(service, id, {
      from: ['issued'],
      lease,
      releaseLease: true,
      fields: this.#issueFields(issue),
    });
    if (!t.ok) {
      // Canceled meanwhile, or our lease lapsed and another replica created a media: ours is unused.
      await this.#deleteMedia(record, issue.mediaId, signal);
      if (t.record?.status === 'issued') return this.#repeat(service, id, signal);
      throw this.#notIssued(t.record ?? record);
    }
    this.deps.onStatus?.('issued');
    return toClientUploadView(t.record, credentialsOf(issue));
  }

  /** A duplicate create: wait for the first request's media, then reissue credentials for it. */
  async #repeat(service: string, id: string, signal?: AbortSignal): Promise<ClientUploadView> {
    for (;;) {
      const record = await this.deps.store.get(service, id);
      if (!record) throw new RecordGone(new ClientUploadError(404, 'NOT_FOUND', 'No such client upload'));
      if (record.status !== 'issued') return toClientUploadView(record);
      if (record.mediaId) {
        this.#assertRefreshable(record);
        return this.#reissue(record, signal);
      }
      if (record.leaseUntil <= this.deps.store.now()) {
        // The creator is gone (its lease lapsed): create the media ourselves.
        const token = randomBytes(12).toString('hex');
        if ((await this.deps.store.lease(service, id, token, this.#leaseMs)) === 'taken') {
          return this.#issueNew(service, id, token, signal);
        }
      }
      signal?.throwIfAborted();
      await sleep(this.#pollMs);
    }
  }

  /** Video/audio: RefreshUploadVideo. Image/attached: a new media replaces the unused one. */
  async #reissue(record: ClientUploadRecord, signal?: AbortSignal): Promise<ClientUploadView> {
    const { store, vod } = this.deps;
    const oldMedia = record.mediaId as string;
    if (record.media.type === 'video' || record.media.type === 'audio') {
      const issue = await vod.refresh(oldMedia, signal);
      const t = await store.transition(record.service, record.id, {
        from: ['issued'],
        countRefresh: true,
        fields: this.#issueFields(issue),
      });
      if (!t.ok) throw this.#notIssued(t.record ?? record);
      return toClientUploadView(t.record, credentialsOf(issue));
    }
    const lease = randomBytes(12).toString('hex');
    const taken = await store.lease(record.service, record.id, lease, this.#leaseMs);
    if (taken !== 'taken') {
      if (taken === 'held')
        throw new ClientUploadError(
          409,
          'CONFLICT',
          'Credentials are being issued for this upload; retry shortly',
        );
      throw this.#notIssued((await store.get(record.service, record.id)) ?? record);
    }
    const release = () =>
      store.transition(record.service, record.id, { from: ['issued'], lease, releaseLease: true });
    try {
      const state = await vod.lookup(record.media.type, oldMedia, signal);
      if (state.uploaded) {
        await release();
        throw new ClientUploadError(
          409,
          'ALREADY_UPLOADED',
          'The file is already uploaded; it completes shortly',
        );
      }
      const issue = await vod.create(
        record.media,
        record.fileName,
        record.fileSize,
        this.#userData(record.media),
        signal,
      );
      await store.indexMedia(record, issue.mediaId);
      const t = await store.transition(record.service, record.id, {
        from: ['issued'],
        lease,
        releaseLease: true,
        countRefresh: true,
        fields: { ...this.#issueFields(issue), superseded: [...record.superseded, oldMedia].join(',') },
      });
      if (!t.ok) {
        await this.#deleteMedia(record, issue.mediaId, signal);
        throw this.#notIssued(t.record ?? record);
      }
      await this.#deleteMedia(record, oldMedia, signal);
      return toClientUploadView(t.record, credentialsOf(issue));
    } catch (err) {
      await release().catch(() => undefined);
      throw err;
    }
  }

  #issueFields(issue: VodIssue): Record<string, string> {
    return {
      mediaId: issue.mediaId,
      bucket: issue.address.bucket,
      objectKey: issue.address.objectKey,
      endpoint: issue.address.endpoint,
      region: issue.credentials.region,
      credentialsExpireAt: String(issue.credentials.expiresAt.getTime()),
    };
  }

  /** The caller's UserData, plus VOD's per-media callback to us when one is configured and none given. */
  #userData(media: MediaSpec): Record<string, unknown> | undefined {
    const url = this.deps.vodCallbackUrl;
    if (!url || media.userData?.MessageCallback !== undefined) return media.userData;
    return { ...media.userData, MessageCallback: { CallbackURL: url, CallbackType: 'http' } };
  }

  async #deleteMedia(record: ClientUploadRecord, mediaId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.deps.vod.delete(record.media.type, mediaId, signal);
    } catch (err) {
      this.deps.logger.error(
        { err, clientUploadId: record.id, mediaId },
        'could not delete the media in VOD',
      );
    }
  }

  async #notify(event: ClientUploadWebhookEvent, record: ClientUploadRecord): Promise<void> {
    if (!record.callbackUrl || !this.deps.notify) return;
    try {
      await this.deps.notify(event, toClientUploadView(record));
    } catch (err) {
      this.deps.logger.warn(
        { err, clientUploadId: record.id, event },
        'could not enqueue the client-upload webhook',
      );
    }
  }
}
