import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { ClientUploadService } from '@mediaferry/client-uploads';
import type { Config } from '@mediaferry/config';
import { type JobEventBus, type JobStore, pingRedis, toJobView, type UploadJobData } from '@mediaferry/queue';
import type { Logger } from '@mediaferry/telemetry';
import type { WebhookDispatcher } from '@mediaferry/webhooks';
import type { Queue } from 'bullmq';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Redis } from 'ioredis';
import { ADMIN_BASE_PATH, registerAdminBoard } from './admin-board.js';
import { ApiError, handleError, isRedisUnavailable, unavailable } from './api-error.js';
import { TokenAuthenticator } from './bearer-auth.js';
import { registerClientUploadRoutes, registerRedeemRoute } from './client-uploads.routes.js';
import { registerJobEventsRoute } from './job-events.route.js';
import { registerJobRoutes } from './jobs.routes.js';
import { JobsService, type SourceCheck } from './jobs.service.js';
import { buildOpenApiDocument } from './openapi.js';
import { lazyChildLogger, type RequestLineLogger, RequestLogController } from './request-log.js';
import { registerVodEventsRoute, type VodEventResult } from './vod-events.route.js';

/** Client uploads (CONTRACT §2); the routes exist only when this is given. */
export interface ClientUploadsDeps {
  service: ClientUploadService;
  /** HMAC key of one-time tickets; without it the ticket routes answer 403/401. */
  ticketSecret?: string | undefined;
  /** VOD's callbacks; without them `POST /v1/vod/events` answers 404. */
  vodEvents?: { callbackUrl: string; keys: readonly string[]; maxAgeSeconds: number } | undefined;
  onVodEvent?: (type: string, result: VodEventResult) => void;
}

export interface ApiOptions {
  /**
   * Requests per service per window, counted in Redis (so across API replicas). `main.ts` passes
   * `API_RATE_LIMIT_MAX`. @defaultValue 600
   */
  rateLimitMax?: number;
  /** `main.ts` passes `API_RATE_LIMIT_WINDOW_MS`. @defaultValue 60000 */
  rateLimitWindowMs?: number;
  /** Body limit of single-job routes. @defaultValue 262144 (256 KiB) */
  bodyLimitBytes?: number;
  /** Body limit of POST /v1/jobs/batch. @defaultValue 33554432 (32 MiB) */
  batchBodyLimitBytes?: number;
  /** @defaultValue 15000 */
  sseHeartbeatMs?: number;
  /** Longest time the source checks of one request may take. @defaultValue 15000 */
  checkTimeoutMs?: number;
  /** PING deadline of /readyz. @defaultValue 1000 */
  readyTimeoutMs?: number;
  /** Shown in /openapi.json. @defaultValue '0.1.0' */
  version?: string;
}

export interface ApiDeps {
  config: Pick<Config, 'apiTokens' | 'webhookSecrets' | 'redisPrefix'>;
  /** A `createRedis(url, {role: 'client'})` connection: fails fast while Redis is away. */
  redis: Redis;
  queue: Queue<UploadJobData, unknown, string>;
  store: JobStore;
  events: JobEventBus;
  logger: Logger;
  /** `(source, signal) => assertSourceAllowed(source, policy, signal)` from @mediaferry/sources. */
  checkSource: SourceCheck;
  /**
   * Where the line of each successful request goes: `createRequestLogger()` (lean, known-safe fields
   * only). Errors always go to `logger`. @defaultValue `logger`
   */
  requestLogger?: RequestLineLogger;
  /** Sends `job.canceled` for jobs canceled before any worker touched them. @defaultValue none */
  webhooks?: Pick<WebhookDispatcher, 'enqueue'>;
  /** Client uploads; their routes are absent without it. @defaultValue none */
  clientUploads?: ClientUploadsDeps;
  options?: ApiOptions;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The producer API (CONTRACT §1) as a Fastify instance, not listening: `main.ts` listens, tests
 * use `inject`. Closing it ends open event streams; the dependencies stay open (their owner closes them).
 */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const o = deps.options ?? {};
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    bodyLimit: o.bodyLimitBytes ?? 256 * 1024,
    return503OnClosing: false,
    forceCloseConnections: true,
    logController: new RequestLogController(deps.requestLogger),
    childLoggerFactory: lazyChildLogger,
    // Errors the router raises before any route or hook runs (a bad URL encoding, a path parameter
    // over 100 characters) skip the error handler: without this they answer Fastify's own shape.
    frameworkErrors: (err, request, reply) => {
      handleError(err, request, reply);
    },
  });

  app.decorateRequest('service', '');
  app.setErrorHandler((err, request, reply) => handleError(err, request, reply));
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send(new ApiError(404, 'NOT_FOUND', 'No such route').toBody()),
  );
  // JSON only: text/plain (Fastify's other default) answers 415 like any other type.
  app.removeContentTypeParser('text/plain');
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  const authenticator = new TokenAuthenticator(deps.config.apiTokens);
  // Answers 401 itself rather than throwing, so the reply has our shape whatever error handler a
  // plugin below (bull-board has its own) installs.
  const authHook = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      authenticator.authenticate(request);
    } catch (err) {
      return handleError(err, request, reply);
    }
  };
  const requireRedis = async () => {
    if (deps.redis.status !== 'ready') throw unavailable();
  };

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (!(await pingRedis(deps.redis, o.readyTimeoutMs ?? 1000))) throw unavailable('Redis does not answer');
    return reply.send({ status: 'ready' });
  });
  let openApi: Record<string, unknown> | undefined;
  app.get('/openapi.json', async () => {
    openApi ??= buildOpenApiDocument(o.version ?? '0.1.0');
    return openApi;
  });

  // The job routes: bearer auth, then a per-service rate limit counted in Redis (before the body is read).
  await app.register(async (scope) => {
    scope.addHook('onRequest', authHook);
    await scope.register(rateLimit, {
      hook: 'preParsing',
      max: o.rateLimitMax ?? 600,
      timeWindow: o.rateLimitWindowMs ?? 60_000,
      redis: deps.redis,
      nameSpace: `${deps.config.redisPrefix}:ratelimit:`,
      keyGenerator: (request) => request.service,
      // Redis away: let the request through; the route itself answers 503.
      skipOnError: true,
      errorResponseBuilder: (_request, context) =>
        new ApiError(429, 'RATE_LIMITED', `Too many requests; retry in ${context.after}`),
    });
    scope.addHook('preHandler', requireRedis);
    const jobs = new JobsService({
      store: deps.store,
      queue: deps.queue,
      checkSource: deps.checkSource,
      webhookSecrets: deps.config.webhookSecrets,
      onCanceled: async (record) => {
        const callbackUrl = record.spec.callbackUrl;
        if (!deps.webhooks || !callbackUrl) return;
        try {
          await deps.webhooks.enqueue({ service: record.service, callbackUrl, job: toJobView(record) });
        } catch (err) {
          deps.logger.warn({ err, jobId: record.id }, 'could not enqueue the job.canceled webhook');
        }
      },
    });
    registerJobRoutes(scope, {
      jobs,
      store: deps.store,
      bodyLimitBytes: o.bodyLimitBytes ?? 256 * 1024,
      batchBodyLimitBytes: o.batchBodyLimitBytes ?? 32 * 1024 * 1024,
      checkTimeoutMs: o.checkTimeoutMs ?? 15_000,
    });
    registerJobEventsRoute(scope, {
      store: deps.store,
      events: deps.events,
      heartbeatMs: o.sseHeartbeatMs ?? 15_000,
    });
    if (deps.clientUploads) {
      registerClientUploadRoutes(scope, {
        service: deps.clientUploads.service,
        webhookSecrets: deps.config.webhookSecrets,
        checkSource: deps.checkSource,
        ticketSecret: deps.clientUploads.ticketSecret,
      });
    }
  });

  // Routes with their own authentication: ticket redeem (Authorization: Ticket) and VOD's callbacks.
  const clientUploads = deps.clientUploads;
  if (clientUploads) {
    await app.register(async (scope) => {
      scope.addHook('preHandler', requireRedis);
      registerRedeemRoute(scope, {
        service: clientUploads.service,
        webhookSecrets: deps.config.webhookSecrets,
        checkSource: deps.checkSource,
        ticketSecret: clientUploads.ticketSecret,
      });
      const events = clientUploads.vodEvents;
      if (events && events.keys.length > 0) {
        await scope.register(async (eventScope) => {
          const drain = registerVodEventsRoute(eventScope, {
            service: clientUploads.service,
            callbackUrl: events.callbackUrl,
            keys: events.keys,
            maxAgeSeconds: events.maxAgeSeconds,
            onEvent: clientUploads.onVodEvent,
          });
          eventScope.addHook('onClose', drain);
        });
      }
    });
  }

  // bull-board behind the same bearer auth (its UI makes many requests: no rate limit). Its JSON API
  // answers errors in its own shape, and 500 when Redis is away: here they get ours (503 when down).
  const adminApi = `${ADMIN_BASE_PATH}/api/`;
  await app.register(async (scope) => {
    scope.addHook('onRequest', authHook);
    scope.addHook('preHandler', async (request, reply) => {
      if (request.url.startsWith(adminApi) && deps.redis.status !== 'ready') {
        return handleError(unavailable(), request, reply);
      }
    });
    scope.addHook('onSend', async (request, reply, payload) => {
      if (reply.statusCode < 400 || !request.url.startsWith(adminApi)) return payload;
      const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString() : '';
      let body: { error?: { code?: unknown } | string; message?: unknown } | undefined;
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        body = undefined;
      }
      const inner = body?.error;
      if (typeof inner === 'object' && typeof inner.code === 'string') return payload; // ours (401, 503)
      const message =
        typeof body?.message === 'string' ? body.message : typeof inner === 'string' ? inner : '';
      let error: ApiError;
      if (reply.statusCode >= 500) {
        request.log.error({ status: reply.statusCode, message }, 'admin board request failed');
        error = isRedisUnavailable(new Error(message))
          ? unavailable()
          : new ApiError(500, 'INTERNAL', 'Internal error');
      } else {
        error = new ApiError(
          reply.statusCode,
          reply.statusCode === 404 ? 'NOT_FOUND' : 'BAD_REQUEST',
          message || (reply.statusCode === 404 ? 'Not found' : 'Bad request'),
        );
      }
      reply.code(error.statusCode).type('application/json; charset=utf-8');
      return JSON.stringify(error.toBody());
    });
    await registerAdminBoard(scope, [deps.queue as Queue]);
  });

  return app;
}
