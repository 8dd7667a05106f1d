import type { MediaSpec } from '@mediaferry/core';

export const CLIENT_UPLOAD_STATUSES = ['issued', 'completed', 'rejected', 'expired', 'canceled'] as const;
export type ClientUploadStatus = (typeof CLIENT_UPLOAD_STATUSES)[number];
export const isFinished = (s: ClientUploadStatus) => s !== 'issued';

/** What a completed upload turned out to be, as VOD reported it (never as the client claimed). */
export interface ClientUploadResult {
  mediaId: string;
  size: number | null;
  fileUrl: string | null;
  /** VOD's status of the media when it was checked (`UploadSucc`, `Normal`, …). */
  vodStatus: string;
  /** False when VOD's answer carried no size (then the size limits could not be checked). */
  sizeVerified: boolean;
}

export interface ClientUploadError {
  code: string;
  message: string;
}

/** One client upload as stored in Redis. Never holds a credential: those only pass through responses. */
export interface ClientUploadRecord {
  id: string;
  service: string;
  endUserId: string | null;
  status: ClientUploadStatus;
  /** Empty until VOD created the media (a moment after the record). */
  mediaId: string | null;
  media: MediaSpec;
  fileName: string;
  fileSize: number;
  /** The largest file this upload may complete with (the policy's, or a ticket's lower one). */
  maxBytes: number;
  callbackUrl: string | null;
  /** Hash of what the create asked, to tell a repeat from a different request under the same key. */
  requestHash: string;
  /** Where the object goes (not secret: the bucket and key are in VOD's media info too). */
  bucket: string | null;
  objectKey: string | null;
  endpoint: string | null;
  region: string | null;
  /** Media ids this upload held before a re-create (images and attached media cannot be refreshed). */
  superseded: string[];
  refreshes: number;
  /** Until when a replica holds the record's lease (it is calling VOD for it); 0 when free. */
  leaseUntil: number;
  credentialsExpireAt: number | null;
  deadline: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  result: ClientUploadResult | null;
  error: ClientUploadError | null;
}

const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
const str = (v: string | undefined) => (v === undefined || v === '' ? null : v);
const json = <T>(v: string | undefined): T | null =>
  v === undefined || v === '' ? null : (JSON.parse(v) as T);

export function pairsToHash(pairs: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const list = pairs as string[];
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i] as string] = list[i + 1] as string;
  return out;
}

export function decodeRecord(h: Record<string, string>): ClientUploadRecord | null {
  if (!h.id) return null;
  return {
    id: h.id,
    service: h.service ?? '',
    endUserId: str(h.endUserId),
    status: (h.status ?? 'issued') as ClientUploadStatus,
    mediaId: str(h.mediaId),
    media: JSON.parse(h.media ?? '{}') as MediaSpec,
    fileName: h.fileName ?? '',
    fileSize: Number(h.fileSize ?? 0),
    maxBytes: Number(h.maxBytes ?? Number.MAX_SAFE_INTEGER),
    callbackUrl: str(h.callbackUrl),
    requestHash: h.requestHash ?? '',
    bucket: str(h.bucket),
    objectKey: str(h.objectKey),
    endpoint: str(h.endpoint),
    region: str(h.region),
    superseded: h.superseded ? h.superseded.split(',') : [],
    refreshes: Number(h.refreshes ?? 0),
    leaseUntil: Number(h.leaseUntil ?? 0),
    credentialsExpireAt: num(h.credentialsExpireAt),
    deadline: Number(h.deadline ?? 0),
    createdAt: Number(h.createdAt ?? 0),
    updatedAt: Number(h.updatedAt ?? 0),
    finishedAt: num(h.finishedAt),
    result: json<ClientUploadResult>(h.result),
    error: json<ClientUploadError>(h.error),
  };
}

/** The decoded `oss` block of a response: for ali-oss / oss2 users. */
export interface OssCredentialsView {
  endpoint: string;
  bucket: string;
  objectKey: string;
  region: string;
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  expiration: string;
}

/** Credentials as VOD issued them; only ever in the response of create, refresh and redeem. */
export interface IssuedCredentials {
  uploadAddress: string;
  uploadAuth: string;
  oss: OssCredentialsView;
}

/** The public view (CONTRACT §2 `ClientUpload`). */
export interface ClientUploadView {
  id: string;
  service: string;
  status: ClientUploadStatus;
  mediaId: string | null;
  mediaType: MediaSpec['type'];
  endUserId: string | null;
  fileName: string;
  fileSize: number;
  media: MediaSpec;
  callbackUrl: string | null;
  /** Base64 as VOD issued it (for VOD's client SDKs); null except in create/refresh/redeem answers. */
  uploadAddress: string | null;
  uploadAuth: string | null;
  oss: OssCredentialsView | null;
  credentialsExpireAt: string | null;
  refreshes: number;
  deadline: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  result: ClientUploadResult | null;
  error: ClientUploadError | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function toClientUploadView(r: ClientUploadRecord, issued?: IssuedCredentials): ClientUploadView {
  return {
    id: r.id,
    service: r.service,
    status: r.status,
    mediaId: r.mediaId,
    mediaType: r.media.type,
    endUserId: r.endUserId,
    fileName: r.fileName,
    fileSize: r.fileSize,
    media: r.media,
    callbackUrl: r.callbackUrl,
    uploadAddress: issued?.uploadAddress ?? null,
    uploadAuth: issued?.uploadAuth ?? null,
    oss: issued?.oss ?? null,
    credentialsExpireAt: r.credentialsExpireAt === null ? null : iso(r.credentialsExpireAt),
    refreshes: r.refreshes,
    deadline: iso(r.deadline),
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    finishedAt: r.finishedAt === null ? null : iso(r.finishedAt),
    result: r.result,
    error: r.error,
  };
}
