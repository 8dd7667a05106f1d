import {
  ClientUploadError,
  type ClientUploadService,
  type ClientUploadView,
  checkStatic,
  narrowPolicy,
  redeemOnce,
  signTicket,
  toClientUploadView,
  verifyTicket,
} from '@mediaferry/client-uploads';
import { MediaferryError } from '@mediaferry/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, fromMediaferryError, notFound, validationFailed, zodIssues } from './api-error.js';
import {
  clientUploadIdParamsSchema,
  clientUploadListQuerySchema,
  createClientUploadSchema,
  isClientUploadId,
  ticketRequestSchema,
} from './client-uploads.schemas.js';
import type { SourceCheck } from './jobs.service.js';
import { idempotencyKeySchema } from './schemas.js';

export interface ClientUploadRoutesOptions {
  service: ClientUploadService;
  /** service → webhook secret: a service without one may not set callbackUrl. */
  webhookSecrets: ReadonlyMap<string, string>;
  /** The SSRF policy, applied to callback URLs. */
  checkSource: SourceCheck;
  /** HMAC key of one-time tickets; tickets are refused (403) without one. */
  ticketSecret?: string | undefined;
}

/** ClientUploadError and MediaferryError (VOD's) → the API's error. */
export function toClientUploadApiError(err: unknown): unknown {
  if (err instanceof ClientUploadError) return new ApiError(err.status, err.code, err.message, err.details);
  if (err instanceof MediaferryError) return fromMediaferryError(err);
  return err;
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toClientUploadApiError(err);
  }
}

function ownedId(request: FastifyRequest): string {
  const { id } = clientUploadIdParamsSchema.parse(request.params);
  if (!isClientUploadId(id)) throw notFound('client upload');
  return id;
}

/** Validates the create body; the `Idempotency-Key` header, when given, must agree with the body. */
function parseCreate(body: unknown, headerKey: unknown) {
  const parsed = createClientUploadSchema.safeParse(body);
  const fields = parsed.success ? [] : zodIssues(parsed.error);
  let key: string | undefined;
  if (headerKey !== undefined) {
    const h = idempotencyKeySchema.safeParse(headerKey);
    if (h.success) key = h.data;
    else fields.push({ path: 'Idempotency-Key', message: 'must be one header of 1 to 255 characters' });
  }
  if (!parsed.success || fields.length > 0) throw validationFailed(fields);
  if (key !== undefined && parsed.data.idempotencyKey !== undefined && key !== parsed.data.idempotencyKey) {
    throw validationFailed([{ path: 'idempotencyKey', message: 'differs from the Idempotency-Key header' }]);
  }
  return { ...parsed.data, idempotencyKey: key ?? parsed.data.idempotencyKey };
}

/** Bearer-authenticated routes of CONTRACT §2 (register inside the authenticated scope). */
export function registerClientUploadRoutes(app: FastifyInstance, o: ClientUploadRoutesOptions): void {
  const { service } = o;

  const checkCallback = async (svc: string, url: string | undefined) => {
    if (url === undefined) return;
    if (!o.webhookSecrets.has(svc)) {
      throw new ApiError(
        400,
        'VALIDATION_FAILED',
        'This service has no webhook secret, so it cannot set callbackUrl',
        {
          fields: [{ path: 'callbackUrl', message: 'no webhook secret is configured for this service' }],
        },
      );
    }
    try {
      await o.checkSource({ type: 'url', url }, AbortSignal.timeout(15_000));
    } catch (err) {
      throw new ApiError(400, 'VALIDATION_FAILED', 'callbackUrl is refused by the network policy', {
        fields: [{ path: 'callbackUrl', message: err instanceof Error ? err.message : 'refused' }],
      });
    }
  };

  app.post('/v1/client-uploads', async (request, reply) => {
    const input = parseCreate(request.body, request.headers['idempotency-key']);
    await checkCallback(request.service, input.callbackUrl);
    const { created, view } = await mapped(() => service.create(request.service, input));
    return reply.code(created ? 201 : 200).send(view);
  });

  app.get('/v1/client-uploads', async (request) => {
    const query = clientUploadListQuerySchema.safeParse(request.query);
    if (!query.success) throw validationFailed(zodIssues(query.error));
    return mapped(() => service.list(request.service, query.data));
  });

  app.get('/v1/client-uploads/:id', async (request): Promise<ClientUploadView> => {
    const id = ownedId(request);
    return toClientUploadView(await mapped(() => service.getOwned(request.service, id)));
  });

  app.post('/v1/client-uploads/:id/refresh', async (request) =>
    mapped(() => service.refresh(request.service, ownedId(request))),
  );

  app.delete('/v1/client-uploads/:id', async (request) =>
    mapped(() => service.cancel(request.service, ownedId(request))),
  );

  app.post('/v1/client-uploads/tickets', async (request, reply) => {
    if (!o.ticketSecret) throw new ApiError(403, 'TICKETS_DISABLED', 'No ticket secret is configured');
    const body = ticketRequestSchema.safeParse(request.body ?? {});
    if (!body.success) throw validationFailed(zodIssues(body.error));
    const now = Date.now();
    const { ticket, claims } = signTicket(o.ticketSecret, {
      service: request.service,
      endUserId: body.data.endUserId ?? null,
      constraints: body.data.constraints ?? null,
      issuedAt: now,
      expiresAt: now + body.data.ttlSeconds * 1000,
    });
    return reply.code(201).send({ ticket, expiresAt: new Date(claims.expiresAt).toISOString() });
  });
}

/**
 * POST /v1/client-uploads/redeem with `Authorization: Ticket <ticket>`: a client talking to
 * mediaferry directly. The ticket works once (across replicas); its service, end user and
 * constraints bind the upload. Register outside the bearer-authenticated scope.
 */
export function registerRedeemRoute(app: FastifyInstance, o: ClientUploadRoutesOptions): void {
  app.post('/v1/client-uploads/redeem', async (request, reply) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Ticket[ ]+([A-Za-z0-9._-]{1,4096})\s*$/i.exec(header) : null;
    if (!o.ticketSecret || !match?.[1]) throw new ApiError(401, 'UNAUTHORIZED', 'A valid ticket is required');
    const claims = await mapped(async () => verifyTicket(o.ticketSecret as string, match[1] as string));
    request.service = claims.service;
    const input = parseCreate(request.body, request.headers['idempotency-key']);
    if (claims.endUserId !== null && input.endUserId !== undefined && input.endUserId !== claims.endUserId) {
      throw new ApiError(403, 'TICKET_MISMATCH', 'endUserId differs from the ticket');
    }
    if (input.callbackUrl !== undefined) {
      throw validationFailed([
        { path: 'callbackUrl', message: 'set by the service, not by a ticket holder' },
      ]);
    }
    const policy = narrowPolicy(o.service.policy(claims.service), claims.constraints ?? undefined);
    await mapped(async () => {
      // Refusals that need no state come before the ticket is spent.
      checkStatic(policy, input.media, input.fileName, input.fileSize);
      await redeemOnce(o.service.deps.store.redis, o.service.deps.store.keys, claims);
    });
    const { view } = await mapped(() =>
      o.service.create(claims.service, { ...input, endUserId: claims.endUserId ?? input.endUserId }, policy),
    );
    return reply.code(201).send(view);
  });
}
