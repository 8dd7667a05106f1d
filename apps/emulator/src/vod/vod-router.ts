import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestLogEntry } from '../admin/request-log.js';
import { VodAuthenticator } from '../auth/vod-authenticator.js';
import type { FaultInjector } from '../faults/fault-injector.js';
import { BodyTooLargeError, readSmallBody } from '../util/read-body.js';
import { sleep } from '../util/time.js';
import { type VodDeps, vodActions } from './vod-actions.js';
import { VodError, vodErrors } from './vod-error.js';
import { VodParams } from './vod-params.js';

export const VOD_API_VERSION = '2017-03-21';

export interface VodRouterDeps extends VodDeps {
  auth: VodAuthenticator;
  faults: FaultInjector;
}

function sendJson(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json;charset=utf-8', 'Content-Length': json.length });
  res.end(json);
}

/** Parses `a=1&b=2` (form or query) into a map, `+` as space. */
export function parseParams(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(raw)) out.set(k, v);
  return out;
}

/**
 * A VOD RPC call: read the (small) body, find action + version, verify the signature, apply injected
 * faults, run the action. Success: 200 JSON with RequestId and never a `Code`; errors: the gateway's
 * JSON error shape.
 */
export async function handleVod(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  query: ReadonlyMap<string, string>,
  deps: VodRouterDeps,
  log: RequestLogEntry,
): Promise<void> {
  const requestId = log.requestId;
  res.setHeader('x-acs-request-id', requestId);
  log.operation = (req.headers['x-acs-action'] as string | undefined) ?? query.get('Action') ?? 'Unknown';
  try {
    let body: Buffer;
    try {
      body = await readSmallBody(req, 1024 * 1024);
    } catch (err) {
      if (err instanceof BodyTooLargeError)
        throw vodErrors.invalidParameter('Body', 'The request body is too large.');
      throw err;
    }
    log.bytes = body.length;
    const isForm = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const form = isForm ? parseParams(body.toString('utf8')) : new Map<string, string>();
    const params = new Map([...query, ...form]);
    log.accessKeyId = VodAuthenticator.claimedKeyId(req, params);
    const action = (req.headers['x-acs-action'] as string | undefined) ?? params.get('Action');
    if (!action) throw vodErrors.missingParameter('Action');
    log.operation = action;
    const version = (req.headers['x-acs-version'] as string | undefined) ?? params.get('Version');
    if (version !== VOD_API_VERSION) throw vodErrors.invalidVersion();
    const run = vodActions[action];
    if (!run) throw vodErrors.actionNotFound(action);
    deps.auth.authenticate({ req, pathname, query, form, body });
    const faults = deps.faults.match('vod', action, undefined);
    if (faults.delay) await sleep(faults.delay);
    switch (faults.action?.kind) {
      case 'fail':
        throw new VodError(
          faults.action.status,
          faults.action.code,
          faults.action.message ?? `Injected ${faults.action.code}.`,
        );
      case 'reset':
        log.errorCode = 'ConnectionReset';
        req.socket.resetAndDestroy();
        return;
      case 'cut':
        log.errorCode = 'ConnectionCut';
        req.socket.destroy();
        return;
    }
    const { mediaId, ...result } = run(deps, new VodParams(params));
    if (mediaId) log.mediaId = mediaId;
    sendJson(res, 200, { RequestId: requestId, ...result });
  } catch (err) {
    if (req.destroyed && !(err instanceof VodError)) {
      log.errorCode ??= 'ClientClosed';
      return;
    }
    const e = err instanceof VodError ? err : vodErrors.internal();
    if (!(err instanceof VodError))
      deps.logger.error({ err, action: log.operation }, 'emulator: VOD call failed');
    log.errorCode = e.code;
    sendJson(res, e.status, {
      RequestId: requestId,
      HostId: `vod.${deps.region}.aliyuncs.com`,
      Code: e.code,
      Message: e.message,
      Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(e.code)}&product=vod`,
    });
  }
}
