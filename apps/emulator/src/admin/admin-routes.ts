import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultInjector, FaultRuleInput } from '../faults/fault-injector.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { CredentialStore } from '../sts/credential-store.js';
import { BodyTooLargeError, readSmallBody } from '../util/read-body.js';
import type { Media, MediaStore } from '../vod/media-store.js';
import type { RequestLog } from './request-log.js';

export interface AdminDeps {
  adminToken: string;
  faults: FaultInjector;
  sts: CredentialStore;
  store: ObjectStore;
  media: MediaStore;
  requestLog: RequestLog;
}

export const ADMIN_PREFIX = '/__emulator';

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': json.length });
  res.end(json);
}

function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let raw: Buffer;
  try {
    raw = await readSmallBody(req, 64 * 1024);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new AdminError(413, 'body too large');
    throw err;
  }
  if (raw.length === 0) return {};
  try {
    const parsed = JSON.parse(raw.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new AdminError(400, 'body must be a JSON object');
  }
}

function mediaView(m: Media) {
  return {
    id: m.id,
    kind: m.kind,
    title: m.title,
    status: m.status,
    bucket: m.bucket,
    key: m.key,
    size: m.size ?? null,
    callbackUrl: m.callback?.url ?? null,
    creationTime: m.creationTime.toISOString(),
  };
}

/**
 * The admin API (`/__emulator/...`, `Authorization: Bearer <adminToken>` only — OSS/VOD signatures
 * are never accepted here): fault injection, bandwidth throttle, credential expiry, request log, and
 * views of buckets and media. See README "Admin API".
 */
export async function handleAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  query: URLSearchParams,
  deps: AdminDeps,
): Promise<void> {
  try {
    if (!authorized(req, deps.adminToken))
      throw new AdminError(401, 'admin token required (Authorization: Bearer …)');
    const route = pathname.slice(ADMIN_PREFIX.length) || '/';
    const method = req.method ?? 'GET';
    const parts = route.split('/').filter(Boolean).map(decodeURIComponent);
    const [a, b, c] = parts;
    if (method === 'GET' && a === 'health') return send(res, 200, { ok: true });
    if (a === 'faults' && parts.length === 1) {
      if (method === 'GET') {
        const t = deps.faults.throttle;
        return send(res, 200, {
          rules: deps.faults.list(),
          throttle: t ? { bytesPerSecond: t.bytesPerSecond } : null,
        });
      }
      if (method === 'POST') {
        try {
          return send(res, 201, deps.faults.add((await jsonBody(req)) as unknown as FaultRuleInput));
        } catch (err) {
          if (err instanceof RangeError) throw new AdminError(400, err.message);
          throw err;
        }
      }
      if (method === 'DELETE') {
        deps.faults.reset();
        return send(res, 200, { ok: true });
      }
    }
    if (a === 'faults' && b !== undefined && parts.length === 2 && method === 'DELETE') {
      return send(res, deps.faults.remove(b) ? 200 : 404, { ok: true });
    }
    if (a === 'throttle' && parts.length === 1 && method === 'PUT') {
      const rate = (await jsonBody(req)).bytesPerSecond;
      if (rate !== null && !(typeof rate === 'number' && rate > 0)) {
        throw new AdminError(400, 'bytesPerSecond must be a positive number or null');
      }
      deps.faults.setThrottle(rate);
      return send(res, 200, { bytesPerSecond: rate });
    }
    if (a === 'credentials' && b === 'expire' && method === 'POST') {
      return send(res, 200, { expired: deps.sts.expireAll() });
    }
    if (a === 'requests' && parts.length === 1) {
      if (method === 'GET') {
        const since = Number(query.get('since') ?? 0) || 0;
        return send(res, 200, { requests: deps.requestLog.list(since) });
      }
      if (method === 'DELETE') {
        deps.requestLog.clear();
        return send(res, 200, { ok: true });
      }
    }
    if (a === 'buckets' && method === 'GET') {
      if (parts.length === 1) return send(res, 200, { buckets: deps.store.bucketNames() });
      if (b === undefined || !deps.store.hasBucket(b)) throw new AdminError(404, `no bucket ${b}`);
      if (c === 'objects' && parts.length === 3) {
        return send(res, 200, {
          objects: deps.store.listObjects(b).map((o) => ({
            key: o.key,
            size: o.size,
            etag: o.etag,
            crc64: o.crc64.toString(),
            objectType: o.objectType,
            contentType: o.contentType,
            meta: o.meta,
            lastModified: o.lastModified.toISOString(),
            parts: o.segments.length,
          })),
        });
      }
      if (c === 'uploads' && parts.length === 3) {
        return send(res, 200, {
          uploads: deps.store.listUploads(b).map((u) => ({
            key: u.key,
            uploadId: u.uploadId,
            initiated: u.initiated.toISOString(),
            parts: [...u.parts.values()]
              .sort((x, y) => x.partNumber - y.partNumber)
              .map((p) => ({
                partNumber: p.partNumber,
                size: p.size,
                etag: p.etag,
                crc64: p.crc64.toString(),
              })),
          })),
        });
      }
    }
    if (a === 'media' && method === 'GET') {
      if (parts.length === 1) return send(res, 200, { media: deps.media.list().map(mediaView) });
      const m = b === undefined ? undefined : deps.media.get(b);
      if (!m || parts.length !== 2) throw new AdminError(404, `no media ${b}`);
      return send(res, 200, mediaView(m));
    }
    throw new AdminError(404, `no admin route ${method} ${pathname}`);
  } catch (err) {
    if (err instanceof AdminError) return send(res, err.status, { error: err.message });
    if (req.destroyed) return;
    send(res, 500, { error: (err as Error).message });
  }
}
