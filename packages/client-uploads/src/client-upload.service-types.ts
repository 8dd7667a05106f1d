import type { MediaSpec } from '@mediaferry/core';
import type { ClientUploadStore } from './client-upload.store.js';
import type { ClientUploadStatus, ClientUploadView, IssuedCredentials } from './client-upload-record.js';
import type { ClientUploadError } from './errors.js';
import type { ClientUploadPolicy } from './policy.js';
import type { ClientUploadVod, VodIssue } from './vod-media.js';

/* The service's dependencies, inputs and small helpers (client-upload.service.ts holds the logic). */

export type ClientUploadWebhookEvent =
  | 'client_upload.completed'
  | 'client_upload.rejected'
  | 'client_upload.expired';

export interface ClientUploadLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ClientUploadServiceDeps {
  store: ClientUploadStore;
  vod: ClientUploadVod;
  /** service → policy (`*` for the rest); see `policyFor`. */
  policies: ReadonlyMap<string, ClientUploadPolicy>;
  /** Asked of VOD per media (UserData.MessageCallback) so its upload event reaches `POST /v1/vod/events`. */
  vodCallbackUrl?: string;
  /** Sends the service's webhook (only called for uploads with a callbackUrl). @defaultValue none */
  notify?: (event: ClientUploadWebhookEvent, view: ClientUploadView) => Promise<void>;
  /** Counts each upload reaching a status (metrics). @defaultValue none */
  onStatus?: (status: ClientUploadStatus) => void;
  logger: ClientUploadLogger;
  /** How long one replica may hold an upload while it calls VOD for it. @defaultValue 30000 */
  leaseMs?: number;
  /** How often a duplicate request looks whether the first one got its media. @defaultValue 50 */
  pollMs?: number;
}

export interface CreateClientUploadInput {
  media: MediaSpec;
  fileName: string;
  fileSize: number;
  endUserId?: string | undefined;
  idempotencyKey?: string | undefined;
  callbackUrl?: string | undefined;
}

export type SettleOutcome = 'completed' | 'rejected' | 'pending' | 'unknown_media' | 'ignored';

/** The record a duplicate waited on was dropped (its creator's VOD call failed). */
export class RecordGone extends Error {
  constructor(readonly notFound: ClientUploadError) {
    super(notFound.message);
  }
}

export function credentialsOf(issue: VodIssue): IssuedCredentials {
  const c = issue.credentials;
  return {
    uploadAddress: issue.uploadAddress,
    uploadAuth: issue.uploadAuth,
    oss: {
      endpoint: issue.address.endpoint,
      bucket: issue.address.bucket,
      objectKey: issue.address.objectKey,
      region: `oss-${c.region}`,
      accessKeyId: c.accessKeyId,
      accessKeySecret: c.accessKeySecret,
      securityToken: c.securityToken,
      expiration: c.expiresAt.toISOString(),
    },
  };
}
