import type { MediaSpec } from '@mediaferry/core';
import type { HttpTransport } from './http-transport.js';

export type ClientUploadStatus = 'issued' | 'completed' | 'rejected' | 'expired' | 'canceled';

/** The decoded credentials, for ali-oss / oss2 (`region` is ali-oss style: `oss-cn-shanghai`). */
export interface ClientUploadOss {
  endpoint: string;
  bucket: string;
  objectKey: string;
  region: string;
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  expiration: string;
}

/** CONTRACT §2 `ClientUpload`. Credentials are only set in create, refresh and redeem answers. */
export interface ClientUpload {
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
  /** Base64 exactly as VOD issued it, for VOD's own client SDKs. */
  uploadAddress: string | null;
  uploadAuth: string | null;
  oss: ClientUploadOss | null;
  credentialsExpireAt: string | null;
  refreshes: number;
  deadline: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  result: {
    mediaId: string;
    size: number | null;
    fileUrl: string | null;
    vodStatus: string;
    sizeVerified: boolean;
  } | null;
  error: { code: string; message: string } | null;
}

export interface CreateClientUploadInput {
  media: MediaSpec;
  fileName: string;
  fileSize: number;
  endUserId?: string;
  idempotencyKey?: string;
  callbackUrl?: string;
}

export interface ListClientUploadsQuery {
  status?: ClientUploadStatus;
  endUserId?: string;
  limit?: number;
  cursor?: string;
  signal?: AbortSignal;
}

export interface TicketInput {
  endUserId?: string;
  constraints?: { maxBytes?: number; mediaTypes?: MediaSpec['type'][]; extensions?: string[] };
  /** @defaultValue 300 (the server's) */
  ttlSeconds?: number;
}

type Opts = { signal?: AbortSignal };
const path = (id: string) => `/v1/client-uploads/${encodeURIComponent(id)}`;

/** `client.clientUploads`: the app-server side of client uploads (CONTRACT §2). */
export class ClientUploadsApi {
  constructor(private readonly http: HttpTransport) {}

  /** POST /v1/client-uploads → `{clientUpload, created}` (created false: an idempotent repeat, fresh credentials). */
  async create(
    input: CreateClientUploadInput,
    o: Opts = {},
  ): Promise<{ clientUpload: ClientUpload; created: boolean }> {
    const res = await this.http.json<ClientUpload>('POST', '/v1/client-uploads', {
      body: input,
      signal: o.signal,
      idempotent: input.idempotencyKey !== undefined,
    });
    return { clientUpload: res.body, created: res.status === 201 };
  }

  /** POST /v1/client-uploads/:id/refresh: fresh credentials (same media for video and audio). */
  async refresh(id: string, o: Opts = {}): Promise<ClientUpload> {
    return (
      await this.http.json<ClientUpload>('POST', `${path(id)}/refresh`, {
        signal: o.signal,
        idempotent: true,
      })
    ).body;
  }

  async get(id: string, o: Opts = {}): Promise<ClientUpload> {
    return (await this.http.json<ClientUpload>('GET', path(id), { signal: o.signal, idempotent: true })).body;
  }

  async list(
    q: ListClientUploadsQuery = {},
  ): Promise<{ clientUploads: ClientUpload[]; nextCursor: string | null }> {
    const res = await this.http.json<{ clientUploads: ClientUpload[]; nextCursor: string | null }>(
      'GET',
      '/v1/client-uploads',
      {
        query: { status: q.status, endUserId: q.endUserId, limit: q.limit, cursor: q.cursor },
        signal: q.signal,
        idempotent: true,
      },
    );
    return { clientUploads: res.body.clientUploads, nextCursor: res.body.nextCursor ?? null };
  }

  /** DELETE /v1/client-uploads/:id: canceled, its media deleted in VOD. */
  async cancel(id: string, o: Opts = {}): Promise<ClientUpload> {
    return (await this.http.json<ClientUpload>('DELETE', path(id), { signal: o.signal, idempotent: true }))
      .body;
  }

  /** POST /v1/client-uploads/tickets: a one-time ticket to hand to an end-user app. */
  async createTicket(input: TicketInput = {}, o: Opts = {}): Promise<{ ticket: string; expiresAt: string }> {
    return (
      await this.http.json<{ ticket: string; expiresAt: string }>('POST', '/v1/client-uploads/tickets', {
        body: input,
        signal: o.signal,
        idempotent: false,
      })
    ).body;
  }

  /** POST /v1/client-uploads/redeem with `Authorization: Ticket …` (what an end-user app calls). Never retried. */
  async redeem(
    ticket: string,
    input: Omit<CreateClientUploadInput, 'callbackUrl'>,
    o: Opts = {},
  ): Promise<ClientUpload> {
    return (
      await this.http.json<ClientUpload>('POST', '/v1/client-uploads/redeem', {
        body: input,
        headers: { authorization: `Ticket ${ticket}` },
        signal: o.signal,
        idempotent: false,
      })
    ).body;
  }

  /** Polls until the upload leaves `issued` (completed, rejected, expired or canceled). */
  async waitForSettled(id: string, o: Opts & { pollIntervalMs?: number } = {}): Promise<ClientUpload> {
    for (;;) {
      const upload = await this.get(id, o);
      if (upload.status !== 'issued') return upload;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, o.pollIntervalMs ?? 1000);
        o.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(o.signal?.reason);
          },
          { once: true },
        );
      });
    }
  }
}
