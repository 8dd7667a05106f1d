import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestLogEntry } from '../admin/request-log.js';
import type { FaultAction } from '../faults/fault-injector.js';
import { BodyCutError } from '../faults/throttle.js';
import { drainBody } from '../util/read-body.js';
import { sleep } from '../util/time.js';
import { listMultipartUploads, listObjects } from './bucket-handlers.js';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  initiateMultipartUpload,
  listParts,
  uploadPart,
} from './multipart-handlers.js';
import { deleteObject, getObject, getObjectMeta, putObject } from './object-handlers.js';
import { type OssContext, type OssDeps, sendOssError } from './oss-context.js';
import { OssError, ossErrors } from './oss-error.js';

/** Object sub-resources the emulator does not implement (they would otherwise look like plain GET/PUT). */
const UNSUPPORTED_SUBRESOURCES = ['acl', 'tagging', 'symlink', 'restore', 'append', 'versions', 'versionId'];

/** The OSS API operation a request is, by method, key presence and sub-resources. */
export function ossOperation(
  method: string,
  key: string | undefined,
  q: ReadonlyMap<string, string>,
): string {
  if (key === undefined) {
    if (method === 'GET' && q.has('uploads')) return 'ListMultipartUploads';
    if (
      method === 'GET' &&
      ![...q.keys()].some((k) => k === 'acl' || k === 'location' || k === 'bucketInfo')
    ) {
      return 'ListObjects';
    }
    return 'Unsupported';
  }
  if (UNSUPPORTED_SUBRESOURCES.some((s) => q.has(s))) return 'Unsupported';
  const hasUploadId = q.has('uploadId');
  switch (method) {
    case 'POST':
      if (q.has('uploads')) return 'InitiateMultipartUpload';
      if (hasUploadId) return 'CompleteMultipartUpload';
      return 'Unsupported';
    case 'PUT':
      return q.has('partNumber') || hasUploadId ? 'UploadPart' : 'PutObject';
    case 'GET':
      if (hasUploadId) return 'ListParts';
      return q.has('objectMeta') ? 'GetObjectMeta' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      return hasUploadId ? 'AbortMultipartUpload' : 'DeleteObject';
    default:
      return 'Unsupported';
  }
}

async function dispatch(ctx: OssContext): Promise<void> {
  switch (ctx.operation) {
    case 'PutObject':
      return putObject(ctx);
    case 'GetObject':
    case 'HeadObject':
      return getObject(ctx);
    case 'GetObjectMeta':
      return getObjectMeta(ctx);
    case 'DeleteObject':
      return deleteObject(ctx);
    case 'InitiateMultipartUpload':
      return initiateMultipartUpload(ctx);
    case 'UploadPart':
      return uploadPart(ctx);
    case 'CompleteMultipartUpload':
      return completeMultipartUpload(ctx);
    case 'ListParts':
      return listParts(ctx);
    case 'AbortMultipartUpload':
      return abortMultipartUpload(ctx);
    case 'ListMultipartUploads':
      return listMultipartUploads(ctx);
    case 'ListObjects':
      return listObjects(ctx);
    default:
      // Real OSS operations the emulator does not serve (PutBucket, DeleteMultipleObjects, ACL, …).
      throw ossErrors.notImplemented(
        `${ctx.req.method} ${ctx.key === undefined ? 'on a bucket' : 'on an object'} with these parameters`,
      );
  }
}

function validateKey(key: string): void {
  if (key.startsWith('/') || key.startsWith('\\')) {
    throw ossErrors.invalidObjectName('The specified object is not valid.');
  }
  if (Buffer.byteLength(key, 'utf8') > 1023) {
    throw ossErrors.invalidObjectName('The Length of Object name must be less than 1024.');
  }
}

export interface OssTarget {
  bucket: string;
  key: string | undefined;
  hostId: string;
}

/**
 * The OSS request pipeline: bucket exists → key valid → signature/STS → scope → injected faults →
 * operation. Every error becomes OSS error XML; a dropped connection is only logged.
 */
export async function handleOss(
  req: IncomingMessage,
  res: ServerResponse,
  target: OssTarget,
  query: ReadonlyMap<string, string>,
  deps: OssDeps,
  log: RequestLogEntry,
): Promise<void> {
  const method = req.method ?? 'GET';
  const ctx: OssContext = {
    req,
    res,
    deps,
    requestId: log.requestId,
    bucket: target.bucket,
    key: target.key,
    query,
    operation: ossOperation(method, target.key, query),
    hostId: target.hostId,
    log,
  };
  log.operation = ctx.operation;
  log.bucket = target.bucket;
  if (target.key !== undefined) log.key = target.key;
  const uploadId = query.get('uploadId');
  if (uploadId) log.uploadId = uploadId;
  const partNumber = Number(query.get('partNumber'));
  if (ctx.operation === 'UploadPart' && Number.isInteger(partNumber)) log.partNumber = partNumber;
  res.setHeader('x-oss-request-id', ctx.requestId);
  res.setHeader('Server', 'AliyunOSS');
  try {
    if (!deps.store.hasBucket(target.bucket)) throw ossErrors.noSuchBucket(target.bucket);
    if (target.key !== undefined) validateKey(target.key);
    if (
      method === 'POST' &&
      target.key === undefined &&
      (req.headers['content-type'] ?? '').startsWith('multipart/form-data')
    ) {
      // PostObject authenticates with a policy in the form, not a header: refuse before auth.
      await drainBody(req);
      throw ossErrors.notImplemented('PostObject (form uploads)');
    }
    const principal = deps.auth.authenticate({
      method,
      headers: req.headers,
      bucket: target.bucket,
      key: target.key,
      query,
    });
    ctx.principal = principal;
    deps.auth.authorize(principal, target.bucket, target.key);
    const faults = deps.faults.match('oss', ctx.operation, target.key);
    if (faults.delay) await sleep(faults.delay);
    if (faults.action && (await applyFault(ctx, faults.action))) return;
    await dispatch(ctx);
  } catch (err) {
    if (err instanceof OssError) {
      if (!res.destroyed) sendOssError(ctx, err);
      return;
    }
    if (err instanceof BodyCutError) {
      log.errorCode = 'ConnectionCut';
      return;
    }
    if (req.destroyed || res.destroyed) {
      // The client went away mid-request; nobody to answer.
      log.errorCode ??= 'ClientClosed';
      return;
    }
    deps.logger.error({ err, operation: ctx.operation }, 'emulator: OSS request failed');
    sendOssError(ctx, ossErrors.internal());
  }
}

/** Applies an injected fault; true when the request is finished (answered or dropped). */
async function applyFault(
  ctx: OssContext,
  action: Exclude<FaultAction, { kind: 'delay' }>,
): Promise<boolean> {
  switch (action.kind) {
    case 'fail':
      await drainBody(ctx.req);
      sendOssError(
        ctx,
        new OssError(action.status, action.code, action.message ?? `Injected ${action.code}.`),
      );
      return true;
    case 'reset':
      ctx.log.errorCode = 'ConnectionReset';
      ctx.req.socket.resetAndDestroy();
      return true;
    case 'cut':
      if (ctx.operation === 'UploadPart' || ctx.operation === 'PutObject') {
        ctx.cutAfter = action.afterBytes;
        return false;
      }
      ctx.log.errorCode = 'ConnectionCut';
      ctx.req.socket.destroy();
      return true;
  }
}
