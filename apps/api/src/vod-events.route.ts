import { createHash } from 'node:crypto';
import { type ClientUploadService, checkVodCallback, eventMediaId } from '@mediaferry/client-uploads';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './api-error.js';

export type VodEventResult = 'accepted' | 'bad_signature' | 'stale' | 'replay' | 'unknown_media' | 'ignored';

export interface VodEventsRouteOptions {
  service: ClientUploadService;
  /** The callback URL exactly as configured in VOD (it is what VOD signs). */
  callbackUrl: string;
  /** Current key first, then the previous one during a rotation. */
  keys: readonly string[];
  /** @defaultValue 300 */
  maxAgeSeconds?: number;
  /** Counts each event by type and result (metrics). */
  onEvent?: (type: string, result: VodEventResult) => void;
  /** Longest time the media look-up may take before the answer goes out anyway. @defaultValue 3000 */
  answerWithinMs?: number;
}

/**
 * Register inside its own scope (it replaces the scope's body parsers).
 * POST /v1/vod/events: VOD's upload-complete callbacks (CONTRACT §2). Only the headers are signed, so
 * the body only names a media: the upload it belongs to is settled from VOD's own answer about it.
 * Answers 200 within VOD's 5 s whatever the look-up does (the reconciler catches up on failures);
 * returns the settlements still running, for a clean shutdown.
 */
export function registerVodEventsRoute(app: FastifyInstance, o: VodEventsRouteOptions): () => Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  const maxAge = o.maxAgeSeconds ?? 300;
  const { store } = o.service.deps;

  // VOD documents the body as JSON but not its Content-Type: whatever it says, the body is read as JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, body === '' ? {} : JSON.parse(body as string));
    } catch {
      done(new SyntaxError('The body is not valid JSON'), undefined);
    }
  });

  app.post('/v1/vod/events', { bodyLimit: 64 * 1024 }, async (request, reply) => {
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
      string,
      unknown
    >;
    const { type, mediaId } = eventMediaId(body);
    const count = (result: VodEventResult) => o.onEvent?.(type, result);
    const timestamp = request.headers['x-vod-timestamp'];
    const signature = request.headers['x-vod-signature'];
    const check = checkVodCallback({
      url: o.callbackUrl,
      keys: o.keys,
      timestamp: typeof timestamp === 'string' ? timestamp : undefined,
      signature: typeof signature === 'string' ? signature : undefined,
      maxAgeSeconds: maxAge,
    });
    if (check === 'bad_signature') {
      count('bad_signature');
      throw new ApiError(401, 'BAD_SIGNATURE', 'X-VOD-SIGNATURE does not match');
    }
    if (check === 'stale') {
      count('stale');
      throw new ApiError(401, 'STALE_TIMESTAMP', `X-VOD-TIMESTAMP is more than ${maxAge} s away from now`);
    }
    // A captured header pair may be replayed within the window, with any body: once is enough.
    const digest = createHash('sha256')
      .update(`${timestamp}\n${signature}\n${JSON.stringify(body)}`)
      .digest('hex');
    const first = await store.redis.set(store.keys.vodEvent(digest), '1', 'EX', maxAge * 2 + 60, 'NX');
    if (first !== 'OK') {
      count('replay');
      return reply.send({ result: 'replay' });
    }
    if (!mediaId) {
      count('ignored');
      return reply.send({ result: 'ignored' });
    }
    if (!(await store.byMedia(mediaId))) {
      count('unknown_media');
      return reply.send({ result: 'unknown_media' });
    }
    count('accepted');
    const settling = o.service.settleMedia(mediaId).catch((err: unknown) => {
      request.log.warn(
        { err, mediaId },
        'could not settle a client upload from a VOD event; the reconciler will',
      );
    });
    inFlight.add(settling);
    void settling.finally(() => inFlight.delete(settling));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settling, new Promise((r) => (timer = setTimeout(r, o.answerWithinMs ?? 3000)))]);
    clearTimeout(timer);
    return reply.send({ result: 'accepted' });
  });

  return async () => {
    await Promise.allSettled([...inFlight]);
  };
}
